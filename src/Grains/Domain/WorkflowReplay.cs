using System.Text.Json;

namespace Orchestrator.Domain;

/// <summary>
/// One recorded decision, re-decided on its recorded inputs. <paramref name="RecordedWith"/> is the rule book that made it;
/// a difference is <c>rules_changed</c> when that book is older than the one replaying, else <c>differs</c>: no rule of its
/// own time explains what was recorded.
/// </summary>
public sealed record ReplayedDecision(
    long Version,
    string Command,
    WorkflowCommand? Inputs,
    IReadOnlyList<IWorkflowEvent> Recorded,
    IReadOnlyList<IWorkflowEvent> Decided,
    bool Same,
    int RecordedWith = WorkflowRules.Version)
{
    public string Verdict => Same ? "same" : RecordedWith < WorkflowRules.Version ? "rules_changed" : "differs";
}

public sealed record ReplayReport(bool Consistent, MergeRequestWorkflow State, IReadOnlyList<ReplayedDecision> Decisions)
{
    /// <summary>The rule book the replay ran.</summary>
    public int RulesVersion => WorkflowRules.Version;

    /// <summary>Differences no change of rules explains: the record is not what its own rules would have decided.</summary>
    public bool Unexplained => Decisions.Any(d => d.Verdict == "differs");
}

/// <summary>
/// Audit: rebuilds the state from the stream and re-runs every decision (Decide, not only Evolve) on the
/// inputs its events recorded. Each decision's first event names the command and carries its inputs; the
/// decider's answer must be exactly the events that follow. Any difference means today's rules would have
/// decided otherwise.
/// </summary>
public static class WorkflowReplay
{
    public static ReplayReport Run(IReadOnlyList<IWorkflowEvent> events, WorkflowRules rules) =>
        Run(events, (command, state) => WorkflowDecider.Decide(command, state, rules));

    /// <summary>Replays a stream read with each event's rule-book version (null: recorded before versions were, i.e. version 1).</summary>
    public static ReplayReport Run(IReadOnlyList<(IWorkflowEvent Event, int? RulesVersion)> stream) =>
        Run([.. stream.Select(s => s.Event)], null, [.. stream.Select(s => s.RulesVersion ?? 1)]);

    public static ReplayReport Run(IReadOnlyList<IWorkflowEvent> events,
        Func<WorkflowCommand, MergeRequestWorkflow, Decision>? decide = null, IReadOnlyList<int>? recordedWith = null)
    {
        decide ??= WorkflowDecider.Decide;
        var state = MergeRequestWorkflow.Initial;
        var decisions = new List<ReplayedDecision>();
        var consistent = true;
        events = [.. events.Select(WorkflowUpcasting.Upcast)];
        for (var i = 0; i < events.Count;)
        {
            // One decision's events all carry its command's time, and no two decisions share one: that is where a
            // decision ends, whatever today's rules would decide (fewer events, or more, show as a difference).
            var recorded = events.Skip(i).TakeWhile(e => e.At == events[i].At).ToList();
            var command = CommandFor(events[i]);
            var decided = command is null ? [] : decide(command, state).Events;
            var same = decided.Count > 0 && decided.Count == recorded.Count && decided.Zip(recorded).All(p => Same(p.First, p.Second));
            consistent &= same;
            decisions.Add(new ReplayedDecision(i + 1, command?.GetType().Name ?? $"(none begins with {events[i].GetType().Name})",
                command, recorded, decided, same, recordedWith?[i] ?? WorkflowRules.Version));
            // Follow the recorded history, whatever today's rules say, so later decisions are judged on what really happened.
            state = recorded.Aggregate(state, WorkflowEvolver.Evolve);
            i += recorded.Count;
        }
        return new ReplayReport(consistent, state, decisions);
    }

    /// <summary>The command whose decision began with <paramref name="first"/>, rebuilt from that event's recorded inputs.</summary>
    /// <remarks>Null for an event that only ever follows another in a decision (a refusal, a failure's cause): it cannot begin one.</remarks>
    public static WorkflowCommand? CommandFor(IWorkflowEvent first) => first switch
    {
        MergeRequested e => new Enqueue(e.RequestedBy, e.At, e.Requester, e.Head),
        PermissionChecked e => new RecordCheckpoint(e.Checkpoint, e.TargetBranch ?? e.Observation?.TargetBranch ?? "", e.Observation, e.AllowedCommanders, e.At,
            e.MergeRequest, e.RequiredApprovals, e.SuggestedPolicy, e.ImagesNow),
        RebaseStarted e => new StartRebase(e.At),
        Rebased e => e.Facts is { } facts ? new RecordRebase(facts, e.At) : RecordRebase.Landed(e.RebasedSha, e.TargetSha, e.At),
        RebaseStopped e => new RecordRebase(e.Facts, e.At),
        StepErrored e => new RecordStepError(e.Source, e.Status, e.Message, e.At),
        RewritePlanned e => new PlanRewrite(e.ExpectedSourceSha, e.OntoSha, e.Trailers, e.CommitterName, e.CommitterEmail, e.At,
            e.ResetsApprovalsOnPush, e.ApprovalsGiven, e.OnApprovalReset, e.Approvers, e.ImpersonationConfigured, e.Upstream),
        ReapprovalChecked e => new CheckReapproval(e.Facts, e.At),
        ApprovalResetObserved e => new ObserveApprovalReset(e.Head, e.Listed, e.WaitSeconds, e.At),
        TrainCarAssigned e => new ObserveTrain(e.Seat, e.TargetHead, e.At, e.MergeCommits),
        TrainMergePreviewed e => new ObserveMergePreview(e.Seat, e.TargetHead, e.SourceHead, e.MergedTree, e.TestedTree, e.At),
        TrainCarLandingChecked e => new ObserveLandedTree(e.MergeCommit, e.LandedTree, e.TestedTree, e.At),
        TrainCarsAheadChecked e => new ObserveCarsAhead(e.Checkpoint, e.Ahead, e.AllowedCommanders, e.At),
        TrainBranchUpdated e => new RecordBranchUpdate(e.Branch, e.Purpose, e.To, e.From, e.Outcome, e.Actual, e.At),
        TrainCarAtHead e => new ObserveTrain(e.Seat, e.TargetHead, e.At),
        TrainCarRejected e => new ObserveTrain(e.Seat, e.TargetHead, e.At),
        TrainCarAnnounced e => new RecordCarNote(e.CarId, e.NoteId, e.At),
        TrainCarImagesSeen e => new ObserveCarImages(e.Seen, e.At),
        TrainBumpsObserved e => new ObserveTagFiles(e.HeadSha, e.TargetSha, e.Reads, e.At),
        RewriteFailed e => new RecordRewriteFailure(e.Kind, e.Message, e.At),
        MergeEmbargoed e => new ObserveEmbargo(e.Windows, e.At),
        FreshnessChecked e => new RecordFreshness(e.Observations, e.AllowUnbumpedInputs, e.At, e.Observations is null ? e.Images : null, e.UnreadableTags),
        PipelineCreated e => new RecordPipeline(e.PipelineId, e.Sha, e.ForcedRebuild, e.At, e.ProjectId, e.TargetProjectId),
        PipelinePrepared e => new RecordPipelinePrepared(e.RegistryBefore, e.DeletedTags, e.At),
        StaleTagsChosen e => new ObserveStaleTags(e.UpstreamRepository, e.InUse, e.At, e.Forced),
        RegistryTagRestored e => new RecordTagRestore(e.Repository, e.Tag, e.Found, e.After, e.At),
        RegistryChecked e => new ObserveRegistryAfter(e.PipelineId, e.PipelineStatus, e.Evidence, e.At),
        UpstreamImageCleaned e => new RecordUpstreamCleanup(e.Name, e.Tag, e.Deleted, e.At, e.Found),
        UpstreamCleanupChosen e => new ObserveCleanup(e.Name, e.Tag, e.Observation, e.At),
        PipelineObserved e => new ObservePipeline(e.PipelineId, e.Status, e.At, e.ManualJobs, e.ManualJobsPolicy, e.SkippedPipelinesPolicy, e.MergeRequest),
        CiTimedOut { Clock: { } clock } e => new ObserveClock(clock, e.At),
        CiTimedOut e => new TimeOut(e.At),
        StepTimedOut e => new ObserveClock(e.Clock, e.At),
        BuildVerified e => new RecordVerification(e.TargetSha, e.Images, 0, e.At, e.Evidence),
        BuildRejected e => new RecordVerification(e.TargetSha, e.Images, 0, e.At, e.Evidence),
        TargetMoved e => new RecordVerification(e.TargetSha, [], e.MaxRebases, e.At),
        ImagePromoted e => new RecordPromotion(e.Name, e.Tag, e.Digest, e.Repository, e.At),
        PromotionUndone e => new RecordPromotionUndone(e.Name, e.Tag, e.Digest, e.At),
        UpstreamTagTaken e => new ObserveUpstreamTag(e.Name, e.Tag, e.Repository, e.Digest, e.At),
        MergeRefused e => new RecordMergeRefusal(e.StatusCode, e.Message, e.After, e.MaxRebases, e.At, e.After is null ? e.Refusal : null),
        Merged e => new RecordMerge(e.MergeCommitSha, e.At),
        MergedElsewhere e => new ObserveMerged(e.MergeCommitSha, e.MergedBy, e.BotUsername, e.At, e.MergedSha),
        OutcomeNoted e => new RecordNote(e.NoteId, e.At),
        AttemptFailed e => new Fail(e.Reason, e.At),
        AttemptCancelled e => new Cancel(e.CancelledBy, e.Reason, e.At),
        _ => null,
    };

    private static bool Same(IWorkflowEvent a, IWorkflowEvent b) =>
        a.GetType() == b.GetType() && JsonSerializer.Serialize(a, a.GetType()) == JsonSerializer.Serialize(b, b.GetType());
}
