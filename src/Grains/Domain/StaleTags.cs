namespace Orchestrator.Domain;

// Before a fork merge request's pipeline runs in the target project, the stale tags it must rebuild are deleted (that
// pipeline takes no FDO_FORCE_REBUILD). Which ones is this rule's, on what the shell saw, so replay re-checks it. Never
// renumber an [Id] or rename an alias.

/// <summary>What a tag file names for one image at one head in use: the target branch's, or a protected branch's (null: none).</summary>
[GenerateSerializer, Alias("ImageTagInUse")]
public sealed record ImageTagInUse([property: Id(0)] string Image, [property: Id(1)] string Branch, [property: Id(2)] string Sha, [property: Id(3)] string? Tag);

/// <summary>
/// Before our pipeline in the target project: the tags the heads in use name for each stale image. <paramref name="Forced"/>:
/// a same-project merge request's pipeline, which rebuilds every stale image with <c>FDO_FORCE_REBUILD</c> instead of
/// having its tags deleted.
/// </summary>
public sealed record ObserveStaleTags(string UpstreamRepository, IReadOnlyList<ImageTagInUse> InUse, DateTimeOffset At, bool Forced = false)
    : WorkflowCommand(At);

/// <summary>Which stale tags (<c>repository:tag</c>) are to be deleted before our pipeline, with what the choice was made on.</summary>
[GenerateSerializer, Alias("StaleTagsChosen")]
public sealed record StaleTagsChosen(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int Rebase,
    [property: Id(2)] string UpstreamRepository,
    [property: Id(3)] IReadOnlyList<ImageTagInUse> InUse,
    [property: Id(4)] IReadOnlyList<string> Delete,
    [property: Id(5)] DateTimeOffset At,
    [property: Id(6)] bool Forced = false) : IWorkflowEvent;

/// <summary>
/// A stale image's tag is deleted so that our pipeline, which cannot be forced, builds it again; never one that the target
/// branch or a protected branch names for that image (a release branch's image is main's equal). The shell deletes only
/// what was chosen, and the registry snapshot taken after it records what it did (<see cref="PipelinePrepared"/>).
/// </summary>
public static class StaleTags
{
    public static IReadOnlyList<string> Choose(IEnumerable<ImageState> images, string upstreamRepository, IReadOnlyList<ImageTagInUse> inUse) =>
        [.. images.Where(i => i.Verdict == FreshnessVerdict.Stale && !inUse.Any(u => u.Image == i.Name && u.Tag == i.Tag))
            .Select(i => $"{upstreamRepository}/{i.Name}:{i.Tag}").Distinct()];

    internal static Decision Decide(ObserveStaleTags c, MergeRequestWorkflow state)
    {
        if (state.Guard is not null || state.PipelineId is not null || state.StaleTags is not null) return Decision.Nothing;
        if (!c.Forced)
            return Decision.Of(new StaleTagsChosen(state.Attempt, state.Rebases, c.UpstreamRepository, c.InUse, Choose(state.Images, c.UpstreamRepository, c.InUse), c.At));
        // A forced rebuild deletes nothing: it overwrites every stale tag, so one that another branch names is refused.
        var observed = new StaleTagsChosen(state.Attempt, state.Rebases, c.UpstreamRepository, c.InUse, [], c.At, Forced: true);
        return SharedWithAnotherBranch(state.Images, c.InUse, state.TargetBranch) is { } shared
            ? Decision.Of(observed, new AttemptFailed(state.Attempt, state.State, shared, c.At))
            : Decision.Of(observed);
    }

    /// <summary>
    /// Why a stale image may not be rebuilt for this target (null: it may): another branch in use names the same tag, so
    /// rebuilding it from this merge request's tree would replace that branch's image, and its next pipeline would reuse
    /// an image built for another branch (whether or not this merge happens).
    /// </summary>
    public static string? SharedWithAnotherBranch(IEnumerable<ImageState> images, IReadOnlyList<ImageTagInUse> inUse, string? targetBranch) =>
        images.Where(i => i.Verdict == FreshnessVerdict.Stale)
            .SelectMany(i => inUse.Where(u => u.Image == i.Name && u.Tag == i.Tag && u.Branch != targetBranch).Select(u => (Image: i, u.Branch)))
            .Select(s => $"{s.Image.Name}:{s.Image.Tag} is stale and `{s.Branch}` uses the same tag: rebuilding it for " +
                         $"`{targetBranch ?? "the target branch"}` would replace `{s.Branch}`'s image. Give it a tag of its own on this branch, then ask again")
            .FirstOrDefault();

    /// <summary>Stale images and no look yet, this rebase, at what the heads in use name for them.</summary>
    public static bool Owed(MergeRequestWorkflow state) => state.StaleTags is null && state.Images.Any(i => i.Verdict == FreshnessVerdict.Stale);

    /// <summary>A tag the shell says it deleted that was not chosen (streams from before the choice was recorded have none to hold to).</summary>
    public static string? Unchosen(MergeRequestWorkflow state, IReadOnlyList<string> deleted) =>
        state.StaleTags is { } chosen ? deleted.FirstOrDefault(t => !chosen.Delete.Contains(t)) : null;
}
