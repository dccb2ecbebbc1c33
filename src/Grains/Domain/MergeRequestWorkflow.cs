using System.Collections.Immutable;

namespace Orchestrator.Domain;

/// <summary>One image of the current attempt: what the check said, and what the build produced.</summary>
/// <remarks><paramref name="Cleanup"/>: for an image awaiting cleanup, the decider's choice to delete it, once made.</remarks>
[GenerateSerializer, Alias("ImageState")]
public sealed record ImageState(
    [property: Id(0)] string Name,
    [property: Id(1)] string Tag,
    [property: Id(2)] FreshnessVerdict Verdict,
    [property: Id(3)] string? Digest,
    [property: Id(4)] string? FdoCommit = null,
    [property: Id(5)] string? CheckedDigest = null,
    [property: Id(6)] CleanupChoice? Cleanup = null) : IPinnedImage;

/// <summary>The last effect the requester's permission was checked for: which checkpoint, in which rebase.</summary>
[GenerateSerializer, Alias("PermissionMark")]
public sealed record PermissionMark([property: Id(0)] PermissionCheckpoint Checkpoint, [property: Id(1)] int Rebase);

/// <summary>The target registry as it was before our pipeline, and the stale tags deleted so that it rebuilds them.</summary>
[GenerateSerializer, Alias("PipelineGuard")]
public sealed record PipelineGuard(
    [property: Id(0)] IReadOnlyList<TagDigest> Before,
    [property: Id(1)] IReadOnlyList<string> DeletedTags,
    [property: Id(2)] DateTimeOffset? PreparedAt = null);

/// <summary>An image copied to the upstream repository and not (yet) taken back.</summary>
[GenerateSerializer, Alias("Promotion")]
public sealed record Promotion(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Name,
    [property: Id(2)] string Tag,
    [property: Id(3)] string Digest,
    [property: Id(4)] string Repository) : IPinnedImage;

/// <summary>
/// The state of one merge request's workflow, folded from its stream by <see cref="WorkflowEvolver"/>.
/// <see cref="Promotions"/> outlives an attempt on purpose: a promotion must be undone (or may be
/// overwritten by the same MR) whatever became of the attempt that made it.
/// </summary>
[GenerateSerializer, Alias("MergeRequestWorkflow")]
public sealed record MergeRequestWorkflow(
    [property: Id(0)] int Attempt,
    [property: Id(1)] WorkflowState State,
    [property: Id(2)] string? RequestedBy,
    [property: Id(3)] int Rebases,
    [property: Id(4)] string? RebasedSha,
    [property: Id(5)] string? TargetSha,
    [property: Id(6)] long? PipelineId,
    [property: Id(7)] string? PipelineStatus,
    [property: Id(8)] bool ForcedRebuild,
    [property: Id(9)] ImmutableList<ImageState> Images,
    [property: Id(10)] ImmutableList<BuiltImage> BuiltImages,
    [property: Id(11)] ImmutableList<Promotion> Promotions,
    [property: Id(12)] string? MergeCommitSha,
    [property: Id(13)] string? Outcome,
    [property: Id(14)] DateTimeOffset? AttemptStartedAt,
    [property: Id(15)] DateTimeOffset? UpdatedAt,
    [property: Id(16)] long? OutcomeNoteId,
    [property: Id(17)] DateTimeOffset? PipelineCreatedAt,
    [property: Id(18)] Requester? Requester = null,
    [property: Id(19)] PermissionMark? LastPermissionCheck = null,
    [property: Id(20)] string? TargetBranch = null,
    [property: Id(21)] long? PipelineProjectId = null,
    [property: Id(22)] PipelineGuard? Guard = null,
    [property: Id(23)] ImmutableList<ImageState>? UpstreamBuilds = null,
    [property: Id(24)] DateTimeOffset? StepStartedAt = null,
    [property: Id(25)] int ErrorsInStep = 0,
    [property: Id(26)] DateTimeOffset? EmbargoedUntil = null,
    [property: Id(27)] RewritePlanned? PlannedRewrite = null,
    [property: Id(28)] ReapprovalChecked? Reapproval = null,
    [property: Id(29)] string? VerifiedInRepository = null,
    [property: Id(30)] string? RefusalAdvice = null,
    [property: Id(31)] TrainCar? Car = null,
    [property: Id(32)] CarImageState? CarImages = null,
    [property: Id(33)] ApprovalResetObserved? ApprovalReset = null,
    [property: Id(34)] TrainBumpsObserved? TrainBumps = null,
    [property: Id(35)] StaleTagsChosen? StaleTags = null,
    [property: Id(36)] RequestedHead? Head = null,
    [property: Id(37)] ImmutableList<TagRestore>? TagRestores = null,
    [property: Id(38)] OwedRegistryCheck? RegistryCheck = null)
{
    public static readonly MergeRequestWorkflow Initial = new(
        0, WorkflowState.None, null, 0, null, null, null, null, false,
        [], [], [], null, null, null, null, null, null);

    public bool IsActive => State.IsActive();

    /// <summary>
    /// The merge request's head the attempt stands for: the rebased head, which is what lands; for a merge-commit car, the
    /// merge request's own head, which GitLab merges (the tested head is the train branch's merge of it).
    /// </summary>
    public string? SourceHead => Car is { MergeCommits: true, AuthorHead: { } own } ? own : RebasedSha;

    /// <summary>The head the requester asked for (read with the trigger, or at the request's check); null in streams before heads were pinned.</summary>
    public string? PinnedHead => Head?.Sha;

    /// <summary>The head the merge request must be at now: the one the attempt rebased to, else the one the requester asked for.</summary>
    public string? ExpectedHead => SourceHead ?? PinnedHead;

    /// <summary>
    /// Whether anything is left to do: an attempt under way, its outcome's note not yet posted, or, after an attempt that
    /// did not merge, promotions to take back and images to clean up; the registry to read after a pipeline of ours.
    /// </summary>
    public bool NeedsWork => IsActive || (State != WorkflowState.None && (OutcomeNoteId is null
        || (State != WorkflowState.Completed && (Promotions.Count > 0 || PendingCleanup.Count > 0))))
        || PendingRestores.Count > 0 || RegistryCheck is not null;

    /// <summary>Tags our pipeline tampered with that are not yet taken back: they outlive the attempt, like a cleanup.</summary>
    public ImmutableList<TagRestore> PendingRestores => TagRestores ?? [];

    /// <summary>The attempt a command is about: a request after an ended attempt opens the next one.</summary>
    public int AttemptFor(WorkflowCommand command) => command is Enqueue && !IsActive ? Attempt + 1 : Attempt;

    /// <summary>Whether the actor's permission was checked for this effect of the current rebase already.</summary>
    public bool PermissionChecked(PermissionCheckpoint checkpoint) => LastPermissionCheck == new PermissionMark(checkpoint, Rebases);

    /// <summary>Images our pipelines built in the target's registry that must go if the merge does not happen.</summary>
    public ImmutableList<ImageState> PendingCleanup => UpstreamBuilds ?? [];

    /// <summary>Whether <paramref name="now"/> is the tag a tested image went out under (streams before rules/4 named the image alone).</summary>
    public bool IsTaggedAs(BuiltImage tested, TagDigest now) =>
        now.Tag == tested.Tag && (now.Repository == tested.Name || now.Repository == $"{VerifiedInRepository}/{tested.Name}");

    public bool IsPromoted(string name, string tag) => Promotions.Any(p => p.Name == name && p.Tag == tag);
}
