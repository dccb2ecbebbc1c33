namespace Orchestrator.Domain;

// What the shell asks of the decider. Time comes in with each command: the decider reads no clock.
// Commands that record an outcome ("Record…") carry the observed inputs (GitLab's and the registry's
// answers), so the decision can be re-run on them for audit.

public abstract record WorkflowCommand(DateTimeOffset At);

/// <summary>Ask for the merge request to be merged (a bot's API call, an assignment, a note).</summary>
/// <remarks><paramref name="Requester"/> is null only when replaying a request recorded before actors were (it is then refused at its next check).</remarks>
/// <remarks><paramref name="Head"/>: the head the requester saw (<see cref="RequestedHead"/>); null only when replaying a request recorded before heads were pinned.</remarks>
public sealed record Enqueue(string RequestedBy, DateTimeOffset At, Requester? Requester = null, RequestedHead? Head = null) : WorkflowCommand(At);

/// <summary>
/// What GitLab showed right before <paramref name="Checkpoint"/>'s effect: the person behind the request
/// (<paramref name="Observation"/>, null when there was no one to ask about: an API token acting on its own authority),
/// the merge request's facts for the preconditions, at the request a policy suggested for a project whose images
/// nothing checks, and before the merge the digests the tested images' tags hold now.
/// </summary>
public sealed record RecordCheckpoint(PermissionCheckpoint Checkpoint, string TargetBranch, PermissionObservation? Observation,
    IReadOnlyList<string> AllowedCommanders, DateTimeOffset At, MergeRequestFacts? MergeRequest = null, int RequiredApprovals = 0,
    ProjectPolicy? SuggestedPolicy = null, IReadOnlyList<TagDigest>? ImagesNow = null) : WorkflowCommand(At);

/// <summary>The target branch's queue handed this merge request the branch.</summary>
public sealed record StartRebase(DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// The rebase our own git will make, decided before it is made so that a repeat after a crash makes the very same
/// commits: the source head seen, the target head it goes onto, the trailers, and who commits (at this command's time).
/// </summary>
/// <remarks>
/// <paramref name="Upstream"/>: in a merge train, the base the branch was last rebased onto (a car's speculative base), whose
/// commits are not the merge request's own and are left out, as <c>git rebase --onto &lt;onto&gt; &lt;upstream&gt;</c> does.
/// <paramref name="ResetsApprovalsOnPush"/> and <paramref name="ApprovalsGiven"/>: whether the project removes approvals
/// when commits are added, and how many there are to lose. <paramref name="OnApprovalReset"/> is the policy's
/// <c>approvalsResetOnPush</c> as read, <paramref name="Approvers"/> who approved (before anything is pushed), and
/// <paramref name="ImpersonationConfigured"/> whether an administrator's token is there to approve again in their names.
/// </remarks>
public sealed record PlanRewrite(string ExpectedSourceSha, string OntoSha, IReadOnlyList<Domain.Trailers.Trailer> Trailers,
    string CommitterName, string CommitterEmail, DateTimeOffset At, bool ResetsApprovalsOnPush = false, int ApprovalsGiven = 0,
    string OnApprovalReset = ApprovalsResetOnPush.Refuse, IReadOnlyList<PlannedApprover>? Approvers = null,
    bool ImpersonationConfigured = false, string? Upstream = null) : WorkflowCommand(At);

/// <summary>
/// Before pushing a rewrite that costs the approvals given, where the policy approves again in the approvers' names:
/// whether the rebase changes the merge request's code, and whether each approver can still approve.
/// </summary>
public sealed record CheckReapproval(ReapprovalFacts Facts, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// After our push of <paramref name="Head"/>, where approvals are given again: whom GitLab lists as approving now, and how
/// long the configured wait for GitLab's delayed removal of approvals is (<c>Workflow:ApprovalResetWait</c>).
/// </summary>
public sealed record ObserveApprovalReset(string Head, IReadOnlyList<long> Listed, int WaitSeconds, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>Our own rebase could not be pushed: <c>source_moved</c> (the lease refused it), <c>conflict</c>, or <c>refused</c> by GitLab.</summary>
public sealed record RecordRewriteFailure(string Kind, string Message, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>What GitLab shows while this attempt rebases: the decider tells a landed rebase from a conflict, a closed MR or a wait.</summary>
public sealed record RecordRebase(RebaseFacts Facts, DateTimeOffset At) : WorkflowCommand(At)
{
    /// <summary>A rebase seen landed: the MR's head on top of the target's.</summary>
    public static RecordRebase Landed(string rebasedSha, string targetSha, DateTimeOffset at) =>
        new(new RebaseFacts("opened", rebasedSha, targetSha, targetSha, null, true), at);
}

/// <remarks>
/// <paramref name="UnreadableTags"/> names tag variables the shell could not read from their file at the rebased SHA.
/// <paramref name="AsRecorded"/> replays streams from before observations were recorded: their verdicts as they were.
/// </remarks>
public sealed record RecordFreshness(IReadOnlyList<ImageObservation>? Observations, bool AllowUnbumpedInputs, DateTimeOffset At,
    IReadOnlyList<ImageAssessment>? AsRecorded = null, IReadOnlyList<string>? UnreadableTags = null) : WorkflowCommand(At);

/// <summary>A request of the current step failed with an HTTP status: the decider tells a refusal no retry heals from a passing error.</summary>
public sealed record RecordStepError(string Source, int Status, string Message, DateTimeOffset At) : WorkflowCommand(At);

/// <remarks>
/// <paramref name="ProjectId"/> is where GitLab runs the pipeline; <paramref name="TargetProjectId"/>, for a fork MR, where
/// it had to run (a pipeline in the fork runs on runners and a registry its owner controls).
/// </remarks>
public sealed record RecordPipeline(long PipelineId, string Sha, bool ForcedRebuild, DateTimeOffset At, long? ProjectId = null,
    long? TargetProjectId = null) : WorkflowCommand(At);

public sealed record RecordPipelinePrepared(IReadOnlyList<TagDigest> RegistryBefore, IReadOnlyList<string> DeletedTags, DateTimeOffset At)
    : WorkflowCommand(At);

/// <remarks>
/// A poll also brings the names of the manual jobs blocking a <c>manual</c> pipeline and the policy's choices for
/// manual jobs and skipped pipelines (a webhook brings the status alone), and the merge request's facts, so that a
/// close, a draft or a push is noticed while the pipeline runs.
/// </remarks>
public sealed record ObservePipeline(long PipelineId, string Status, DateTimeOffset At, IReadOnlyList<string>? ManualJobs = null,
    string? ManualJobsPolicy = null, string? SkippedPipelinesPolicy = null, MergeRequestFacts? MergeRequest = null) : WorkflowCommand(At);

/// <summary>
/// The time, read while the workflow waits: the decider ends a step that has made no progress for too long, and a
/// pipeline that has run for longer than the CI timeout.
/// </summary>
public sealed record ObserveClock(ClockReading Clock, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>Right before a merge call: the policy's embargo windows, for the decider to say whether merging may happen now.</summary>
public sealed record ObserveEmbargo(IReadOnlyList<EmbargoWindow>? Windows, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>The CI timeout as recorded before deadlines carried their clock reading: replays old streams only.</summary>
public sealed record TimeOut(DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordVerification(string TargetSha, IReadOnlyList<BuiltImage> Images, int MaxRebases, DateTimeOffset At,
    VerificationEvidence? Evidence = null) : WorkflowCommand(At);

/// <remarks><paramref name="Found"/>: what the tag held when the shell looked, right before deleting what the decider chose.</remarks>
/// <summary>The shell's word on a tampered tag it took back: what the tag held when looked up, and afterwards (null: nothing).</summary>
public sealed record RecordTagRestore(string Repository, string Tag, string? Found, string? After, DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordUpstreamCleanup(string Name, string Tag, bool Deleted, DateTimeOffset At, string? Found = null) : WorkflowCommand(At), INamedImage;

/// <summary>After an attempt that did not merge: what the shell saw of an image our pipelines built upstream, for the decider to choose whether it goes.</summary>
public sealed record ObserveCleanup(string Name, string Tag, CleanupObservation Observation, DateTimeOffset At) : WorkflowCommand(At), INamedImage;

public sealed record RecordPromotion(string Name, string Tag, string Digest, string Repository, DateTimeOffset At) : WorkflowCommand(At), IPinnedImage;

/// <summary>What the upstream tag holds right before a promotion would copy a verified image to it (null: nothing).</summary>
public sealed record ObserveUpstreamTag(string Name, string Tag, string Repository, string? Digest, DateTimeOffset At) : WorkflowCommand(At), INamedImage;

public sealed record RecordPromotionUndone(string Name, string Tag, string Digest, DateTimeOffset At) : WorkflowCommand(At), IPinnedImage;

public sealed record RecordMerge(string MergeCommitSha, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>GitLab reports the merge request merged: by the bot (a merge done before a crash) or by someone else.</summary>
/// <remarks><paramref name="BotUsername"/> is null only when replaying a stream recorded before it was.</remarks>
/// <paramref name="MergedSha"/> is the source head GitLab merged: ours only if it is the commit we tested.
public sealed record ObserveMerged(string? MergeCommitSha, string? MergedBy, string? BotUsername, DateTimeOffset At, string? MergedSha = null) : WorkflowCommand(At);

/// <remarks><paramref name="AsRecorded"/> replays streams from before the facts were recorded: their class as it was.</remarks>
public sealed record RecordMergeRefusal(int StatusCode, string Message, MergeRefusalFacts? After, int MaxRebases, DateTimeOffset At,
    MergeRefusal? AsRecorded = null) : WorkflowCommand(At);

public sealed record RecordNote(long NoteId, DateTimeOffset At) : WorkflowCommand(At);

public sealed record Fail(string Reason, DateTimeOffset At) : WorkflowCommand(At);

public sealed record Cancel(string CancelledBy, string Reason, DateTimeOffset At) : WorkflowCommand(At);
