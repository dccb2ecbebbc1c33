using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

public class TrainReplayTests
{
    private static TrainScript History()
    {
        var train = TrainScript.Open(TrainStrategy.MergeTrain, budget: 3).JoinAll(1, 2, 3, 4);
        train.Pass(train.CarOf("1 on []")).Fail(train.CarOf("2 on [1]"));
        return train.Withdraw(4);
    }

    [Fact]
    public void Given_a_recorded_history_when_replayed_then_every_plan_is_decided_again_the_same_and_the_state_agrees()
    {
        var train = History();
        var report = TrainReplay.Run(train.Events);
        Assert.True(report.Consistent);
        Assert.Equal(4, report.Plans.Count);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(train.State.Snapshot(DateTimeOffset.UnixEpoch)),
            System.Text.Json.JsonSerializer.Serialize(report.State.Snapshot(DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void Given_a_history_audited_in_two_parts_when_continued_then_it_judges_and_folds_exactly_as_one_run()
    {
        var events = History().Events;
        var whole = TrainReplay.Run(events);
        foreach (var cut in Enumerable.Range(0, events.Count + 1))
        {
            var first = TrainReplay.Run(events.Take(cut).ToList());
            var rest = TrainReplay.Continue(events, cut, first.State);
            Assert.Equal(whole.Plans.Select(p => (p.Index, p.Same)), first.Plans.Concat(rest.Plans).Select(p => (p.Index, p.Same)));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(whole.State), System.Text.Json.JsonSerializer.Serialize(rest.State));
        }
        // A plan today's planner disagrees with after the cut is still caught.
        var starting = events.Select((e, i) => (e, i)).Last(x => x.e is TrainPlanned { Plan.Starts.Count: > 0 }).i;
        var before = TrainReplay.Run(events.Take(starting).ToList()).State;
        Assert.True(TrainReplay.Continue(events, starting, before).Consistent);
        Assert.False(TrainReplay.Continue(events, starting, before, s => TrainPlanner.Plan(s) with { Starts = [] }).Consistent);
    }

    [Fact]
    public void Given_a_planner_that_never_lands_when_replaying_then_it_disagrees_exactly_at_the_landing_plans()
    {
        var train = History();
        var report = TrainReplay.Run(train.Events, s => TrainPlanner.Plan(s) with { Lands = [] });
        Assert.False(report.Consistent);
        var landingPlans = train.Events.Select((e, i) => (e, i)).Where(x => x.e is TrainPlanned { Plan.Lands.Count: > 0 }).Select(x => x.i);
        Assert.Equal(landingPlans, report.Plans.Where(p => !p.PlanMatches).Select(p => p.Index));
        Assert.All(report.Plans, p => Assert.True(p.InputsMatch));
    }

    [Fact]
    public void Given_a_plan_recorded_with_inputs_the_history_does_not_explain_when_replaying_then_that_plan_is_flagged()
    {
        var events = History().Events.ToList();
        var at = events.FindIndex(e => e is PipelineFinished);
        var planned = (TrainPlanned)events[at + 1];
        events[at + 1] = planned with { Inputs = planned.Inputs with { Policy = planned.Inputs.Policy with { Budget = 9 } } };
        var report = TrainReplay.Run(events);
        Assert.Equal([at + 1], report.Plans.Where(p => !p.InputsMatch).Select(p => p.Index));
    }

    [Fact]
    public void Given_a_repeated_fact_when_decided_then_nothing_is_recorded()
    {
        var train = History();
        var finished = train.Events.OfType<PipelineFinished>().First();
        Assert.Empty(TrainPlanner.Decide(new FinishPipeline(finished.CarId, true, finished.At.AddMinutes(5)), train.State));
        Assert.Empty(TrainPlanner.Decide(new WithdrawMr(4, "again", finished.At.AddMinutes(5)), train.State));
        Assert.Empty(TrainPlanner.Decide(new JoinTrain([TrainScript.Mr(3)], finished.At.AddMinutes(5)), train.State));
    }
}
