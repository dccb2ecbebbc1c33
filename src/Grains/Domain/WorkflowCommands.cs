namespace Orchestrator.Domain;

// What the shell asks of the decider. Time comes in with each command: the decider reads no clock.
// Commands that record an outcome ("Record…") carry the observed inputs (GitLab's and the registry's
// answers), so the decision can be re-run on them for audit.

public abstract record WorkflowCommand(DateTimeOffset At);

/// <summary>Ask for the merge request to be merged (a bot's API call, an assignment, a note).</summary>
/// <remarks><paramref name="Requester"/> is null only when replaying a request recorded before actors were (it is then refused at its next check).</remarks>
public sealed record Enqueue(string RequestedBy, DateTimeOffset At, Requester? Requester = null) : WorkflowCommand(At);

/// <summary>
/// What GitLab said about the person behind the request, read right before <paramref name="Checkpoint"/>'s effect
/// (null when there was no one to ask about: an API token acting on its own authority).
/// </summary>
public sealed record RecordPermission(PermissionCheckpoint Checkpoint, string TargetBranch, PermissionObservation? Observation,
    IReadOnlyList<string> AllowedCommanders, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>The target branch's queue handed this merge request the branch.</summary>
public sealed record StartRebase(DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordRebase(string RebasedSha, string TargetSha, DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordFreshness(IReadOnlyList<ImageAssessment> Images, bool AllowUnbumpedInputs, DateTimeOffset At)
    : WorkflowCommand(At);

/// <remarks><paramref name="ProjectId"/> is where the pipeline runs (the target project, for a fork MR).</remarks>
public sealed record RecordPipeline(long PipelineId, string Sha, bool ForcedRebuild, DateTimeOffset At, long? ProjectId = null) : WorkflowCommand(At);

public sealed record RecordPipelinePrepared(IReadOnlyList<TagDigest> RegistryBefore, IReadOnlyList<string> DeletedTags, DateTimeOffset At)
    : WorkflowCommand(At);

/// <remarks>
/// A poll also brings the names of the manual jobs blocking a <c>manual</c> pipeline and the policy's choices for
/// manual jobs and skipped pipelines (a webhook brings the status alone).
/// </remarks>
public sealed record ObservePipeline(long PipelineId, string Status, DateTimeOffset At, IReadOnlyList<string>? ManualJobs = null,
    string? ManualJobsPolicy = null, string? SkippedPipelinesPolicy = null) : WorkflowCommand(At);

/// <summary>
/// The time, read while the workflow waits: the decider ends a step that has made no progress for too long, and a
/// pipeline that has run for longer than the CI timeout.
/// </summary>
public sealed record ObserveClock(ClockReading Clock, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>The CI timeout as recorded before deadlines carried their clock reading: replays old streams only.</summary>
public sealed record TimeOut(DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordVerification(string TargetSha, IReadOnlyList<BuiltImage> Images, int MaxRebases, DateTimeOffset At,
    VerificationEvidence? Evidence = null) : WorkflowCommand(At);

public sealed record RecordUpstreamCleanup(string Name, string Tag, bool Deleted, DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordPromotion(string Name, string Tag, string Digest, string Repository, DateTimeOffset At)
    : WorkflowCommand(At);

public sealed record RecordPromotionUndone(string Name, string Tag, string Digest, DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordMerge(string MergeCommitSha, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>GitLab reports the merge request merged, by someone other than the bot.</summary>
public sealed record RecordMergedElsewhere(string? MergeCommitSha, string? MergedBy, DateTimeOffset At) : WorkflowCommand(At);

public sealed record RecordMergeRefusal(int StatusCode, string Message, MergeRefusal Refusal, int MaxRebases, DateTimeOffset At)
    : WorkflowCommand(At);

public sealed record RecordNote(long NoteId, DateTimeOffset At) : WorkflowCommand(At);

public sealed record Fail(string Reason, DateTimeOffset At) : WorkflowCommand(At);

public sealed record Cancel(string CancelledBy, string Reason, DateTimeOffset At) : WorkflowCommand(At);
