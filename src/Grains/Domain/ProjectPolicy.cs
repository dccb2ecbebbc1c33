namespace Orchestrator.Domain;

/// <summary>
/// One image the project builds with ci-templates, and where its tag and build inputs live. <paramref name="ForceVariable"/>
/// names a pipeline variable the project's CI maps onto this image's job's <c>FDO_FORCE_REBUILD</c>, so a same-project
/// pipeline rebuilds only the stale image rather than every one.
/// </summary>
[GenerateSerializer, Alias("ImagePolicy")]
public sealed record ImagePolicy(
    [property: Id(0)] string Name,
    [property: Id(1)] string TagFile,
    [property: Id(2)] string TagKey,
    [property: Id(3)] IReadOnlyList<string> Inputs,
    [property: Id(4)] string? ForceVariable = null);

/// <summary>How the orchestrator merges one GitLab project's merge requests.</summary>
[GenerateSerializer, Alias("ProjectPolicy")]
public sealed record ProjectPolicy(
    IReadOnlyList<ImagePolicy>? Images = null,
    [property: Id(1)] string? UpstreamRepo = null,
    [property: Id(2)] int RequiredApprovals = 0,
    [property: Id(3)] int CiTimeoutMinutes = 60,
    [property: Id(4)] int MaxRebases = 3,
    [property: Id(5)] bool AllowUnbumpedInputs = false,
    [property: Id(6)] string? TriggerLabel = null,
    IReadOnlyList<string>? AllowedCommanders = null,
    [property: Id(8)] string MergeOrder = "assigned_at",
    IReadOnlyList<string>? UnverifiedJobs = null,
    [property: Id(10)] string ManualJobs = "fail",
    [property: Id(11)] string SkippedPipelines = "fail",
    [property: Id(12)] int StepTimeoutMinutes = 30,
    IReadOnlyList<EmbargoWindow>? Embargo = null,
    IReadOnlyList<string>? Trailers = null,
    [property: Id(15)] bool NoteOnSuccess = true,
    [property: Id(16)] bool UnassignOnMerge = false,
    [property: Id(17)] string ApprovalsResetOnPush = Domain.ApprovalsResetOnPush.Refuse,
    MergeTrainPolicy? Train = null)
{
    /// <summary>How a target branch's merge requests are tested and landed: one at a time (serial), or as a merge train.</summary>
    [Id(18)] public MergeTrainPolicy Train { get; init; } = Train ?? MergeTrainPolicy.Serial;

    /// <summary>
    /// Trailers every commit gets before our pipeline tests it (<c>part-of</c>, <c>reviewed-by</c>, <c>tested-by</c>):
    /// with any, the orchestrator rebases in its own git and pushes, instead of asking GitLab's rebase API.
    /// </summary>
    [Id(14)] public IReadOnlyList<string> Trailers { get; init; } = Trailers ?? [];

    /// <summary>Weekly windows in which nothing merges (pipelines may still run); after one, the merge's checks are done again.</summary>
    [Id(13)] public IReadOnlyList<EmbargoWindow> Embargo { get; init; } = Embargo ?? [];

    /// <summary>
    /// Jobs whose runner reports no image (shell, custom or Kubernetes executors) that may still run in our pipeline;
    /// by default none: a job that ran on an image nobody can name proves nothing about it.
    /// </summary>
    [Id(9)] public IReadOnlyList<string> UnverifiedJobs { get; init; } = UnverifiedJobs ?? [];

    /// <summary>
    /// Who may command a merge with a <c>/merge</c> note: usernames, or a minimum access level in the target project
    /// (<c>developer</c>, <c>maintainer</c>, <c>owner</c>).
    /// </summary>
    [Id(7)] public IReadOnlyList<string> AllowedCommanders { get; init; } = AllowedCommanders ?? [];

    [Id(0)] public IReadOnlyList<ImagePolicy> Images { get; init; } = Images ?? [];

    public static readonly ProjectPolicy Default = new([], null, 0, 60, 3, false);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (CiTimeoutMinutes is < 1 or > 24 * 60) errors.Add("ciTimeoutMinutes must be between 1 and 1440");
        if (StepTimeoutMinutes is < 1 or > 24 * 60) errors.Add("stepTimeoutMinutes must be between 1 and 1440");
        if (MaxRebases is < 0 or > 100) errors.Add("maxRebases must be between 0 and 100");
        if (RequiredApprovals is < 0 or > 100) errors.Add("requiredApprovals must be between 0 and 100");
        foreach (var image in Images)
        {
            if (string.IsNullOrWhiteSpace(image.Name) || image.Name.Contains(':')) errors.Add("images[].name must be a registry suffix such as debian/x86_64_build");
            if (string.IsNullOrWhiteSpace(image.TagFile)) errors.Add($"images[{image.Name}].tagFile is required");
            if (string.IsNullOrWhiteSpace(image.TagKey)) errors.Add($"images[{image.Name}].tagKey is required");
            if (image.Inputs is null) errors.Add($"images[{image.Name}].inputs is required (a list of path globs)");
            foreach (var glob in image.Inputs ?? [])
                if (glob is not null && Freshness.GlobProblem(glob) is { } problem) errors.Add($"images[{image.Name}].inputs: {glob} {problem}");
            if (image.ForceVariable is { } force && !System.Text.RegularExpressions.Regex.IsMatch(force, "^[A-Za-z_][A-Za-z0-9_]{0,254}$"))
                errors.Add($"images[{image.Name}].forceVariable must be a CI variable name");
        }
        if (MergeOrder is not (Domain.MergeOrder.AssignedAt or Domain.MergeOrder.CreatedAt)) errors.Add("mergeOrder must be assigned_at or created_at");
        if (ManualJobs is not ("fail" or "wait")) errors.Add("manualJobs must be fail or wait");
        if (SkippedPipelines is not ("fail" or "pass")) errors.Add("skippedPipelines must be fail or pass");
        if (!Domain.ApprovalsResetOnPush.All.Contains(ApprovalsResetOnPush))
            errors.Add($"approvalsResetOnPush must be {string.Join(" or ", Domain.ApprovalsResetOnPush.All)}");
        if (TriggerLabel is { } label && (string.IsNullOrWhiteSpace(label) || label != label.Trim()))
            errors.Add("triggerLabel must be a label name without surrounding spaces (or absent)");
        if (AllowedCommanders.Any(c => string.IsNullOrWhiteSpace(c) || c != c.Trim() || c.StartsWith('@')))
            errors.Add("allowedCommanders[] must be usernames without @ or spaces, or developer, maintainer, owner");
        foreach (var trailer in Trailers.Where(t => !Domain.Trailers.TrailerKinds.All.Contains(t)))
            errors.Add($"trailers[] must be among {string.Join(", ", Domain.Trailers.TrailerKinds.All)}, not {trailer}");
        foreach (var window in Embargo)
            errors.AddRange(Embargoes.Problems(window));
        if (Trailers.Any(t => t is null)) errors.Add("trailers[] must be names");
        if (UnverifiedJobs.Any(string.IsNullOrWhiteSpace)) errors.Add("unverifiedJobs[] must be job names");
        errors.AddRange(Train.Problems());
        // A car's branch holds the cars ahead: approvals given back in someone's name would cover others' commits.
        if (Train.IsTrain && ApprovalsResetOnPush == Domain.ApprovalsResetOnPush.Reapprove)
            errors.Add("train.strategy merge-train cannot be used with approvalsResetOnPush reapprove: a car's branch holds the cars ahead");
        if (Images.Count > 0 && string.IsNullOrWhiteSpace(UpstreamRepo)) errors.Add("upstreamRepo is required when images are listed");
        return errors;
    }
}

/// <summary>
/// Policy <c>train</c>: <c>serial</c> (the default: one merge request holds the branch from rebase to merge) or
/// <c>merge-train</c>: up to <see cref="Depth"/> cars, car k tested on the target plus cars 1..k, with never more than
/// <see cref="MaxPipelines"/> of their pipelines at once (default: the depth). Trains run on fast-forward projects;
/// other merge methods stay serial.
/// </summary>
[GenerateSerializer, Alias("MergeTrainPolicy")]
public sealed record MergeTrainPolicy(
    [property: Id(0)] string Strategy = MergeTrainPolicy.SerialStrategy,
    [property: Id(1)] int Depth = 4,
    [property: Id(2)] int? MaxPipelines = null)
{
    public const string SerialStrategy = "serial";
    public const string MergeTrainStrategy = "merge-train";
    public const int MostCars = 20;

    public static readonly MergeTrainPolicy Serial = new();

    public bool IsTrain => Strategy == MergeTrainStrategy;

    /// <summary>Pipelines the train may run at once.</summary>
    public int Pipelines => MaxPipelines ?? Depth;

    public IEnumerable<string> Problems()
    {
        if (Strategy is not (SerialStrategy or MergeTrainStrategy)) yield return "train.strategy must be serial or merge-train";
        if (Depth is < 1 or > MostCars) yield return $"train.depth must be between 1 and {MostCars}";
        if (MaxPipelines is < 1 or > MostCars) yield return $"train.maxPipelines must be between 1 and {MostCars}";
    }

    /// <summary>
    /// The planner's policy: GitLab's merge train, <see cref="Depth"/> cars deep within <see cref="Pipelines"/> pipelines;
    /// for a project with images, image-aware (one build per bumped tag, see <see cref="TrainCarImages"/>).
    /// </summary>
    public Trains.TrainPolicy ToPlanner(bool images = false) => new(Trains.TrainStrategy.MergeTrain, Pipelines, Depth: Depth, BuildsOnce: images);
}
