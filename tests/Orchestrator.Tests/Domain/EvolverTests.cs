using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

public sealed class EvolverTests
{
    private sealed record SomethingFromTheFuture(int Attempt, DateTimeOffset At) : IWorkflowEvent;

    [Fact]
    public void Given_any_state_When_an_unknown_event_is_folded_Then_the_state_is_unchanged()
    {
        foreach (var history in ByState.Values)
        {
            var state = Fold(history);
            Assert.Same(state, WorkflowEvolver.Evolve(state, new SomethingFromTheFuture(state.Attempt, At(99))));
        }
    }

    [Fact]
    public void Given_attempt_two_When_an_event_of_attempt_one_arrives_Then_it_is_ignored()
    {
        var state = Fold([.. Failed, new MergeRequested(2, "marge", At(10))]);
        Assert.Same(state, WorkflowEvolver.Evolve(state, new PipelineCreated(1, Pipeline, RebasedSha, true, At(11))));
    }

    [Fact]
    public void Given_each_state_When_every_command_is_decided_and_folded_Then_nothing_throws_and_ended_states_stay_consistent()
    {
        WorkflowCommand[] commands =
        [
            new Enqueue("x", At(80)), new StartRebase(At(80)), RecordRebase.Landed(RebasedSha, TargetSha, At(80)),
            Assessed([StaleBuildImage], false, At(80)), new RecordPipeline(Pipeline, RebasedSha, true, At(80)),
            new ObservePipeline(Pipeline, "success", At(80)), new ObservePipeline(Pipeline, "failed", At(80)), new TimeOut(At(80)),
            new RecordVerification(TargetSha, [BuiltBuildImage], 3, At(80)),
            new RecordPromotion(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, "mesa/mesa", At(80)),
            new RecordPromotionUndone(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, At(80)),
            new RecordMerge("d4d4d4", At(80)), new RecordMergeRefusal(409, "x", After(MergeRefusal.SourceChanged), 3, At(80)),
            new Fail("x", At(80)), new Cancel("x", "x", At(80)),
        ];
        foreach (var (stateName, history) in ByState)
        {
            var state = Fold(history);
            Assert.Equal(stateName, state.State);
            foreach (var command in commands)
            {
                var decision = WorkflowDecider.Decide(command, state);
                var after = decision.Events.Aggregate(state, WorkflowEvolver.Evolve);
                if (decision.IsRejected || decision.Events.Count == 0)
                    Assert.Equal(state, after);
                else
                    Assert.Equal(at(decision.Events[^1]), after.UpdatedAt);
            }
        }

        static DateTimeOffset at(IWorkflowEvent e) => e.At;
    }
}
