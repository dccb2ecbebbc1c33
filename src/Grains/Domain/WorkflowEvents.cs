namespace Orchestrator.Domain;

// Past-tense facts, each carrying the inputs behind the decision that raised it.
// The type names below are mapped to stable stream names in WorkflowEventNames; never
// renumber an [Id] or rename an alias: stored streams depend on them.

/// <summary>Every event of a merge request's stream.</summary>
public interface IWorkflowEvent
{
    int Attempt { get; }
    DateTimeOffset At { get; }
}

[GenerateSerializer, Alias("MergeRequested")]
public sealed record MergeRequested(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string RequestedBy,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] Requester? Requester = null,
    [property: Id(4)] RequestedHead? Head = null) : IWorkflowEvent;

/// <summary>
/// The merge request's head the requester asked for, and where it was read: the merge request hook's
/// <c>object_attributes.last_commit.id</c>, a note hook's <c>merge_request.last_commit.id</c>, the API request's
/// <c>sha</c>, the reconciler's listing; <paramref name="Sha"/> null: pinned at the request's permission check (the first
/// look at the merge request). Commits pushed after it are not the requester's to merge: the attempt ends before
/// anything rewrites or merges them. A request recorded before heads were pinned holds none, and pins nothing.
/// </summary>
[GenerateSerializer, Alias("RequestedHead")]
public sealed record RequestedHead([property: Id(0)] string? Sha, [property: Id(1)] string Seen)
{
    public const string MergeRequestHook = "merge_request_hook", NoteHook = "note_hook", Api = "api", Reconciliation = "reconciliation",
        FirstLook = "first_look";

    /// <summary>A head read with the trigger, or pinned at the first look when the trigger carried none.</summary>
    public static RequestedHead From(string? sha, string seen) => new(sha, sha is null ? FirstLook : seen);
}

/// <summary>The actor's right to merge was checked before an effect; the observation is what the verdict was decided from.</summary>
[GenerateSerializer, Alias("PermissionChecked")]
public sealed record PermissionChecked(
    [property: Id(0)] int Attempt,
    [property: Id(1)] PermissionCheckpoint Checkpoint,
    [property: Id(2)] int Rebase,
    [property: Id(3)] Requester? Requester,
    [property: Id(4)] PermissionObservation? Observation,
    [property: Id(5)] IReadOnlyList<string> AllowedCommanders,
    [property: Id(6)] bool Allowed,
    [property: Id(7)] string Reason,
    [property: Id(8)] DateTimeOffset At,
    [property: Id(9)] string? TargetBranch = null,
    [property: Id(10)] MergeRequestFacts? MergeRequest = null,
    [property: Id(11)] int RequiredApprovals = 0,
    [property: Id(12)] ProjectPolicy? SuggestedPolicy = null,
    [property: Id(13)] IReadOnlyList<TagDigest>? ImagesNow = null) : IWorkflowEvent;

/// <summary>The request was refused before the bot did anything for it: its trigger is undone and its author told why.</summary>
/// <remarks><paramref name="Advice"/>: what the refused person can do instead; null for the usual "ask someone who may merge".</remarks>
[GenerateSerializer, Alias("RequestRefused")]
public sealed record RequestRefused(
    [property: Id(0)] int Attempt,
    [property: Id(1)] Requester? Requester,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] string? Advice = null) : IWorkflowEvent;

[GenerateSerializer, Alias("RebaseStarted")]
public sealed record RebaseStarted(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int Rebase,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

[GenerateSerializer, Alias("Rebased")]
public sealed record Rebased(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string RebasedSha,
    [property: Id(2)] string TargetSha,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] RebaseFacts? Facts = null) : IWorkflowEvent;

/// <summary>
/// What was left to do after an attempt ended (its note, taking back <paramref name="LeftBehind"/>) given up after repeated
/// refusals: the merge request's timeline and the orchestrator's log say so, for a person to finish.
/// </summary>
[GenerateSerializer, Alias("FinishingAbandoned")]
public sealed record FinishingAbandoned(
    [property: Id(0)] int Attempt,
    [property: Id(1)] WorkflowState State,
    [property: Id(2)] string Reason,
    [property: Id(3)] IReadOnlyList<string> LeftBehind,
    [property: Id(4)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// GitLab or the registry refused one of the step's requests in a way no retry changes (a 400 for the CI
/// configuration, a 403, a 404 for what must exist); <paramref name="Count"/> such refusals so far in this step.
/// </summary>
[GenerateSerializer, Alias("StepErrored")]
public sealed record StepErrored(
    [property: Id(0)] int Attempt,
    [property: Id(1)] WorkflowState Step,
    [property: Id(2)] string Source,
    [property: Id(3)] int Status,
    [property: Id(4)] string Message,
    [property: Id(5)] int Count,
    [property: Id(6)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>The merge waits: <paramref name="At"/> falls in one of the policy's embargo <paramref name="Windows"/>, open again at <paramref name="Until"/>.</summary>
[GenerateSerializer, Alias("MergeEmbargoed")]
public sealed record MergeEmbargoed(
    [property: Id(0)] int Attempt,
    [property: Id(1)] DateTimeOffset Until,
    [property: Id(2)] IReadOnlyList<EmbargoWindow> Windows,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>The rebase our own git makes for this rebase of the attempt, with everything that decides its commits.</summary>
[GenerateSerializer, Alias("RewritePlanned")]
public sealed record RewritePlanned(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int Rebase,
    [property: Id(2)] string ExpectedSourceSha,
    [property: Id(3)] string OntoSha,
    [property: Id(4)] IReadOnlyList<Trailers.Trailer> Trailers,
    [property: Id(5)] string CommitterName,
    [property: Id(6)] string CommitterEmail,
    [property: Id(7)] DateTimeOffset At,
    [property: Id(8)] bool ResetsApprovalsOnPush = false,
    [property: Id(9)] int ApprovalsGiven = 0,
    [property: Id(10)] string OnApprovalReset = ApprovalsResetOnPush.Refuse,
    [property: Id(11)] IReadOnlyList<PlannedApprover>? Approvers = null,
    [property: Id(12)] bool ImpersonationConfigured = false,
    [property: Id(13)] string? Upstream = null) : IWorkflowEvent;

/// <summary>
/// Before our push, where it costs the approvals given and the policy approves again in the approvers' names: the
/// facts (patch ids before and after the rebase, each approver's access), whether it is allowed, and for whom.
/// </summary>
[GenerateSerializer, Alias("ReapprovalChecked")]
public sealed record ReapprovalChecked(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int Rebase,
    [property: Id(2)] ReapprovalFacts Facts,
    [property: Id(3)] bool Allowed,
    [property: Id(4)] string Reason,
    [property: Id(5)] IReadOnlyList<long> Reapprove,
    [property: Id(6)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// After our push, where approvals are given again: whom GitLab listed (<paramref name="Listed"/>), the wait in force,
/// since when every allowed approver has been seen listed, and what the bot made of it (<see cref="ApprovalResets"/>):
/// still waiting, the approvals taken as kept, or <paramref name="Reapprove"/> dropped and to be approved for again.
/// </summary>
[GenerateSerializer, Alias("ApprovalResetObserved")]
public sealed record ApprovalResetObserved(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int Rebase,
    [property: Id(2)] string Head,
    [property: Id(3)] IReadOnlyList<long> Listed,
    [property: Id(4)] int WaitSeconds,
    [property: Id(5)] DateTimeOffset Since,
    [property: Id(6)] ApprovalResetOutcome Outcome,
    [property: Id(7)] IReadOnlyList<long> Reapprove,
    [property: Id(8)] DateTimeOffset At) : IWorkflowEvent;

[GenerateSerializer, Alias("RewriteFailed")]
public sealed record RewriteFailed(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Message,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>The rebase could not go on: the merge request closed or merged meanwhile, or GitLab reported a conflict.</summary>
[GenerateSerializer, Alias("RebaseStopped")]
public sealed record RebaseStopped(
    [property: Id(0)] int Attempt,
    [property: Id(1)] RebaseFacts Facts,
    [property: Id(2)] DateTimeOffset At) : IWorkflowEvent;

[GenerateSerializer, Alias("ImageAssessment")]
public sealed record ImageAssessment(
    [property: Id(0)] string Name,
    [property: Id(1)] string Tag,
    [property: Id(2)] FreshnessVerdict Verdict,
    [property: Id(3)] string? FdoCommit,
    [property: Id(4)] string Reason,
    [property: Id(5)] string? Digest = null) : IPinnedImage;

[GenerateSerializer, Alias("FreshnessChecked")]
public sealed record FreshnessChecked(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string RebasedSha,
    [property: Id(2)] IReadOnlyList<ImageAssessment> Images,
    [property: Id(3)] bool AllowUnbumpedInputs,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] IReadOnlyList<ImageObservation>? Observations = null,
    [property: Id(6)] IReadOnlyList<string>? UnreadableTags = null) : IWorkflowEvent;

[GenerateSerializer, Alias("PipelineCreated")]
public sealed record PipelineCreated(
    [property: Id(0)] int Attempt,
    [property: Id(1)] long PipelineId,
    [property: Id(2)] string Sha,
    [property: Id(3)] bool ForcedRebuild,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] long? ProjectId = null,
    [property: Id(6)] long? TargetProjectId = null) : IWorkflowEvent;

/// <summary>
/// Before a pipeline in the target project: the stale upstream tags deleted so that it rebuilds them, and every tag of
/// the policy's repositories as it was, to compare with afterwards (the pipeline runs the MR's code with push rights).
/// <paramref name="ReadAfterAnyEnd"/> (rule book 8): the registry is read after the pipeline whatever ends it
/// (<see cref="RegistryChecks"/>); older streams read it only after a success.
/// </summary>
[GenerateSerializer, Alias("PipelinePrepared")]
public sealed record PipelinePrepared(
    [property: Id(0)] int Attempt,
    [property: Id(1)] IReadOnlyList<TagDigest> RegistryBefore,
    [property: Id(2)] IReadOnlyList<string> DeletedTags,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] bool ReadAfterAnyEnd = false) : IWorkflowEvent;

[GenerateSerializer, Alias("PipelineObserved")]
public sealed record PipelineObserved(
    [property: Id(0)] int Attempt,
    [property: Id(1)] long PipelineId,
    [property: Id(2)] string Status,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] IReadOnlyList<string>? ManualJobs = null,
    [property: Id(5)] string? ManualJobsPolicy = null,
    [property: Id(6)] string? SkippedPipelinesPolicy = null,
    [property: Id(7)] MergeRequestFacts? MergeRequest = null) : IWorkflowEvent;

[GenerateSerializer, Alias("BuiltImage")]
public sealed record BuiltImage(
    [property: Id(0)] string Name,
    [property: Id(1)] string Tag,
    [property: Id(2)] string Digest,
    [property: Id(3)] string? LabelCommit,
    [property: Id(4)] long? LabelPipelineId) : IPinnedImage;

/// <remarks>With <paramref name="Evidence"/> the images were built and tested in the target project: nothing to promote.</remarks>
[GenerateSerializer, Alias("BuildVerified")]
public sealed record BuildVerified(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string TargetSha,
    [property: Id(2)] IReadOnlyList<BuiltImage> Images,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] VerificationEvidence? Evidence = null) : IWorkflowEvent;

[GenerateSerializer, Alias("TargetMoved")]
public sealed record TargetMoved(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string RebasedOnto,
    [property: Id(2)] string TargetSha,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] int MaxRebases) : IWorkflowEvent;

/// <summary>Verification found the built images untrustworthy; the images seen are the inputs of that verdict.</summary>
[GenerateSerializer, Alias("BuildRejected")]
public sealed record BuildRejected(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string TargetSha,
    [property: Id(2)] IReadOnlyList<BuiltImage> Images,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] VerificationEvidence? Evidence = null) : IWorkflowEvent;

/// <summary>Our pipeline changed tags of the target's registry that it had no business changing: an alert, not only a failure.</summary>
[GenerateSerializer, Alias("RegistryTampered")]
public sealed record RegistryTampered(
    [property: Id(0)] int Attempt,
    [property: Id(1)] long PipelineId,
    [property: Id(2)] IReadOnlyList<string> Changes,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] IReadOnlyList<TagRestore>? Restores = null) : IWorkflowEvent;

/// <summary>
/// A tag our pipeline tampered with, taken back after the attempt: <paramref name="Found"/> is what it held when looked up,
/// <paramref name="After"/> what it held afterwards, and how it ended (<see cref="TagRestoreOutcome"/>).
/// </summary>
[GenerateSerializer, Alias("RegistryTagRestored")]
public sealed record RegistryTagRestored(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Repository,
    [property: Id(2)] string Tag,
    [property: Id(3)] string? Found,
    [property: Id(4)] string? After,
    [property: Id(5)] TagRestoreOutcome Outcome,
    [property: Id(6)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// After an attempt that did not merge, an image our pipeline built in the target's registry under a tag the target
/// branch does not use was deleted (or kept, because the target branch uses that tag now), so no one reuses it.
/// </summary>
/// <remarks><paramref name="Found"/>: after a choice to delete, what the tag held right before (null: nothing, or a stream from before).</remarks>
[GenerateSerializer, Alias("UpstreamImageCleaned")]
public sealed record UpstreamImageCleaned(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Name,
    [property: Id(2)] string Tag,
    [property: Id(3)] bool Deleted,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] string? Found = null) : INamedImage, IWorkflowEvent;

/// <summary>
/// After an attempt that did not merge, before anything is deleted: what the shell saw of an image our pipelines built
/// upstream, and whether the rule (<see cref="UpstreamCleanups"/>) deletes it, and at which digest.
/// </summary>
[GenerateSerializer, Alias("UpstreamCleanupChosen")]
public sealed record UpstreamCleanupChosen(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Name,
    [property: Id(2)] string Tag,
    [property: Id(3)] CleanupObservation Observation,
    [property: Id(4)] CleanupChoice Choice,
    [property: Id(5)] DateTimeOffset At) : INamedImage, IWorkflowEvent;

/// <remarks><paramref name="Clock"/> is null in streams recorded before the deadlines were decided from it.</remarks>
[GenerateSerializer, Alias("CiTimedOut")]
public sealed record CiTimedOut(
    [property: Id(0)] int Attempt,
    [property: Id(1)] long? PipelineId,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] ClockReading? Clock = null) : IWorkflowEvent;

/// <summary>
/// A step made no progress for longer than the policy's step deadline (<see cref="ClockReading.StepTimeoutMinutes"/>),
/// counted from <paramref name="Since"/>: when the step began, or when the orchestrator resumed watching it.
/// </summary>
[GenerateSerializer, Alias("StepTimedOut")]
public sealed record StepTimedOut(
    [property: Id(0)] int Attempt,
    [property: Id(1)] WorkflowState Step,
    [property: Id(2)] DateTimeOffset Since,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] ClockReading Clock) : IWorkflowEvent;

/// <summary>The outcome's MR note was posted (once per attempt; its marker lets a retry find it).</summary>
[GenerateSerializer, Alias("OutcomeNoted")]
public sealed record OutcomeNoted(
    [property: Id(0)] int Attempt,
    [property: Id(1)] long NoteId,
    [property: Id(2)] DateTimeOffset At) : IWorkflowEvent;

[GenerateSerializer, Alias("ImagePromoted")]
public sealed record ImagePromoted(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Name,
    [property: Id(2)] string Tag,
    [property: Id(3)] string Digest,
    [property: Id(4)] string Repository,
    [property: Id(5)] DateTimeOffset At) : IPinnedImage, IWorkflowEvent;

/// <summary>A promotion found its upstream tag holding another image: tags are never overwritten, so nothing was copied.</summary>
[GenerateSerializer, Alias("UpstreamTagTaken")]
public sealed record UpstreamTagTaken(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Name,
    [property: Id(2)] string Tag,
    [property: Id(3)] string Repository,
    [property: Id(4)] string Digest,
    [property: Id(5)] DateTimeOffset At) : INamedImage, IWorkflowEvent;

[GenerateSerializer, Alias("PromotionUndone")]
public sealed record PromotionUndone(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Name,
    [property: Id(2)] string Tag,
    [property: Id(3)] string Digest,
    [property: Id(4)] DateTimeOffset At) : IPinnedImage, IWorkflowEvent;

[GenerateSerializer, Alias("MergeRefused")]
public sealed record MergeRefused(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int StatusCode,
    [property: Id(2)] string Message,
    [property: Id(3)] MergeRefusal Refusal,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] int MaxRebases,
    [property: Id(6)] MergeRefusalFacts? After = null) : IWorkflowEvent;

[GenerateSerializer, Alias("Merged")]
public sealed record Merged(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string MergeCommitSha,
    [property: Id(2)] DateTimeOffset At) : IWorkflowEvent;

[GenerateSerializer, Alias("MergedElsewhere")]
public sealed record MergedElsewhere(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string? MergeCommitSha,
    [property: Id(2)] string? MergedBy,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] string? BotUsername = null,
    [property: Id(5)] string? MergedSha = null) : IWorkflowEvent;

[GenerateSerializer, Alias("AttemptFailed")]
public sealed record AttemptFailed(
    [property: Id(0)] int Attempt,
    [property: Id(1)] WorkflowState FailedIn,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

[GenerateSerializer, Alias("AttemptCancelled")]
public sealed record AttemptCancelled(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string CancelledBy,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;
