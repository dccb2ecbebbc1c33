using System.Text.Json;

namespace Orchestrator.Domain;

/// <summary>One recorded decision, re-decided on its recorded inputs.</summary>
public sealed record ReplayedDecision(
    long Version,
    string Command,
    WorkflowCommand Inputs,
    IReadOnlyList<IWorkflowEvent> Recorded,
    IReadOnlyList<IWorkflowEvent> Decided,
    bool Same);

public sealed record ReplayReport(bool Consistent, MergeRequestWorkflow State, IReadOnlyList<ReplayedDecision> Decisions);

/// <summary>
/// Audit: rebuilds the state from the stream and re-runs every decision (Decide, not only Evolve) on the
/// inputs its events recorded. Each decision's first event names the command and carries its inputs; the
/// decider's answer must be exactly the events that follow. Any difference means today's rules would have
/// decided otherwise.
/// </summary>
public static class WorkflowReplay
{
    public static ReplayReport Run(IReadOnlyList<IWorkflowEvent> events,
        Func<WorkflowCommand, MergeRequestWorkflow, Decision>? decide = null)
    {
        decide ??= WorkflowDecider.Decide;
        var state = MergeRequestWorkflow.Initial;
        var decisions = new List<ReplayedDecision>();
        var consistent = true;
        for (var i = 0; i < events.Count;)
        {
            var command = CommandFor(events[i]);
            var decided = decide(command, state).Events;
            var take = Math.Max(1, decided.Count);
            var recorded = events.Skip(i).Take(take).ToList();
            var same = decided.Count > 0 && decided.Count == recorded.Count && decided.Zip(recorded).All(p => Same(p.First, p.Second));
            consistent &= same;
            decisions.Add(new ReplayedDecision(i + 1, command.GetType().Name, command, recorded, decided, same));
            // Follow the recorded history, whatever today's rules say, so later decisions are judged on what really happened.
            state = recorded.Aggregate(state, WorkflowEvolver.Evolve);
            i += recorded.Count;
        }
        return new ReplayReport(consistent, state, decisions);
    }

    /// <summary>The command whose decision began with <paramref name="first"/>, rebuilt from that event's recorded inputs.</summary>
    public static WorkflowCommand CommandFor(IWorkflowEvent first) => first switch
    {
        MergeRequested e => new Enqueue(e.RequestedBy, e.At, e.Requester),
        PermissionChecked e => new RecordPermission(e.Checkpoint, e.TargetBranch ?? e.Observation?.TargetBranch ?? "", e.Observation, e.AllowedCommanders, e.At),
        RebaseStarted e => new StartRebase(e.At),
        Rebased e => new RecordRebase(e.RebasedSha, e.TargetSha, e.At),
        FreshnessChecked e => new RecordFreshness(e.Images, e.AllowUnbumpedInputs, e.At),
        PipelineCreated e => new RecordPipeline(e.PipelineId, e.Sha, e.ForcedRebuild, e.At, e.ProjectId),
        PipelinePrepared e => new RecordPipelinePrepared(e.RegistryBefore, e.DeletedTags, e.At),
        UpstreamImageCleaned e => new RecordUpstreamCleanup(e.Name, e.Tag, e.Deleted, e.At),
        PipelineObserved e => new ObservePipeline(e.PipelineId, e.Status, e.At, e.ManualJobs, e.ManualJobsPolicy, e.SkippedPipelinesPolicy),
        CiTimedOut { Clock: { } clock } e => new ObserveClock(clock, e.At),
        CiTimedOut e => new TimeOut(e.At),
        StepTimedOut e => new ObserveClock(e.Clock, e.At),
        BuildVerified e => new RecordVerification(e.TargetSha, e.Images, 0, e.At, e.Evidence),
        BuildRejected e => new RecordVerification(e.TargetSha, e.Images, 0, e.At, e.Evidence),
        TargetMoved e => new RecordVerification(e.TargetSha, [], e.MaxRebases, e.At),
        ImagePromoted e => new RecordPromotion(e.Name, e.Tag, e.Digest, e.Repository, e.At),
        PromotionUndone e => new RecordPromotionUndone(e.Name, e.Tag, e.Digest, e.At),
        MergeRefused e => new RecordMergeRefusal(e.StatusCode, e.Message, e.Refusal, e.MaxRebases, e.At),
        Merged e => new RecordMerge(e.MergeCommitSha, e.At),
        MergedElsewhere e => new RecordMergedElsewhere(e.MergeCommitSha, e.MergedBy, e.At),
        OutcomeNoted e => new RecordNote(e.NoteId, e.At),
        AttemptFailed e => new Fail(e.Reason, e.At),
        AttemptCancelled e => new Cancel(e.CancelledBy, e.Reason, e.At),
        _ => throw new ArgumentException($"no command begins with {first.GetType().Name}"),
    };

    private static bool Same(IWorkflowEvent a, IWorkflowEvent b) =>
        a.GetType() == b.GetType() && JsonSerializer.Serialize(a, a.GetType()) == JsonSerializer.Serialize(b, b.GetType());
}
