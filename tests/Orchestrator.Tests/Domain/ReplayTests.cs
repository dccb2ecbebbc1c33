using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

public sealed class ReplayTests
{
    private static IWorkflowEvent[] Run(params (WorkflowCommand Command, int Expect)[] steps)
    {
        var state = MergeRequestWorkflow.Initial;
        var events = new List<IWorkflowEvent>();
        foreach (var (command, expect) in steps)
        {
            var decision = WorkflowDecider.Decide(command, state);
            Assert.Equal(expect, decision.Events.Count);
            events.AddRange(decision.Events);
            state = decision.Events.Aggregate(state, WorkflowEvolver.Evolve);
        }
        return [.. events];
    }

    // A whole merge as the grain records it: a target move, a forced rebuild, a promotion, a note.
    private static IWorkflowEvent[] FullMerge() => Run(
        (new Enqueue("marge", At(0)), 1), (new StartRebase(At(1)), 1), (RecordRebase.Landed(RebasedSha, TargetSha, At(2)), 1),
        (Assessed([StaleBuildImage], false, At(3)), 1), (new RecordPipeline(Pipeline, RebasedSha, true, At(4)), 1),
        (new ObservePipeline(Pipeline, "running", At(5)), 1), (new ObservePipeline(Pipeline, "success", At(20)), 1),
        (new RecordVerification("moved", [BuiltBuildImage], 3, At(21)), 2), (RecordRebase.Landed(RebasedSha, "moved", At(22)), 1),
        (Assessed([StaleBuildImage], false, At(23)), 1), (new RecordPipeline(Pipeline, RebasedSha, true, At(24)), 1),
        (new ObservePipeline(Pipeline, "success", At(30)), 1), (new RecordVerification("moved", [BuiltBuildImage], 3, At(31)), 1),
        (new RecordPromotion(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, "mesa/mesa", At(32)), 1),
        (new RecordMergeRefusal(405, "checking", new MergeRefusalFacts(RebasedSha, "moved", "checking"), 3, At(33)), 1),
        (new RecordMerge("d4d4", At(34)), 1), (new RecordNote(77, At(35)), 1));

    [Fact]
    public void Given_a_recorded_merge_When_replayed_with_todays_rules_Then_every_decision_is_the_same()
    {
        var events = FullMerge();
        var report = WorkflowReplay.Run(events);
        Assert.True(report.Consistent);
        Assert.Equal(WorkflowState.Completed, report.State.State);
        Assert.Equal(events.Length, report.Decisions.Sum(d => d.Recorded.Count));
        Assert.Contains(report.Decisions, d => d.Command == nameof(RecordVerification) && d.Recorded.Count == 2);
    }

    [Fact]
    public void Given_failures_timeouts_and_cancels_When_replayed_Then_they_are_consistent_too()
    {
        var events = Run(
            (new Enqueue("a", At(0)), 1), (new StartRebase(At(1)), 1), (RecordRebase.Landed(RebasedSha, TargetSha, At(2)), 1),
            (Assessed([StaleBuildImage with { Verdict = FreshnessVerdict.Unbumped }], false, At(3)), 2),
            (new Enqueue("a", At(4)), 1), (new Cancel("api", "no", At(5)), 1), (new Enqueue("a", At(6)), 1), (new StartRebase(At(7)), 1),
            (RecordRebase.Landed(RebasedSha, TargetSha, At(8)), 1), (Assessed([StaleBuildImage], false, At(9)), 1),
            (new RecordPipeline(Pipeline, RebasedSha, true, At(10)), 1), (new TimeOut(At(90)), 2), (new Enqueue("a", At(91)), 1),
            (new Fail("Merge conflict", At(92)), 1));
        Assert.True(WorkflowReplay.Run(events).Consistent);
    }

    [Fact]
    public void Given_a_recorded_merge_When_a_decision_rule_is_altered_Then_the_replay_says_inconsistent_and_where()
    {
        // An altered rule: stale images no longer fail verification when their labels name another commit.
        static Decision Lenient(WorkflowCommand command, MergeRequestWorkflow state) =>
            command is RecordVerification v && state.State == WorkflowState.Verifying && v.TargetSha == state.TargetSha
                ? Decision.Of(new BuildVerified(state.Attempt, v.TargetSha, v.Images, v.At))
                : WorkflowDecider.Decide(command, state);
        var forged = BuiltBuildImage with { LabelCommit = "old" };
        var events = Run(
            (new Enqueue("marge", At(0)), 1), (new StartRebase(At(1)), 1), (RecordRebase.Landed(RebasedSha, TargetSha, At(2)), 1),
            (Assessed([StaleBuildImage], false, At(3)), 1), (new RecordPipeline(Pipeline, RebasedSha, true, At(4)), 1),
            (new ObservePipeline(Pipeline, "success", At(20)), 1), (new RecordVerification(TargetSha, [forged], 3, At(21)), 2));

        Assert.True(WorkflowReplay.Run(events).Consistent);
        var altered = WorkflowReplay.Run(events, Lenient);
        Assert.False(altered.Consistent);
        var differing = Assert.Single(altered.Decisions, d => !d.Same);
        Assert.Equal(nameof(RecordVerification), differing.Command);
        Assert.IsType<BuildVerified>(Assert.Single(differing.Decided));
    }
}
