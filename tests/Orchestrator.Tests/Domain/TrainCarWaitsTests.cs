using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>What the operations page says a car waits for, from its merge request's own recorded state.</summary>
public sealed class TrainCarWaitsTests
{
    private static TrainCarAssigned Car(string? onto, long[] ahead) =>
        new(1, new TrainSeat("main", "car-2", ahead, onto, false), "t0", onto, "car 2", null, At(1));

    private static string WaitsFor(params IWorkflowEvent[] events) => TrainCarWaits.Of(WorkflowEvolver.Fold(events));

    [Fact]
    public void Given_a_car_behind_one_that_has_not_pushed_When_shown_Then_it_waits_for_that_head() =>
        Assert.Equal("the car ahead to push its head", WaitsFor([.. Queued, Car(null, [1])]));

    [Fact]
    public void Given_a_car_whose_pipeline_runs_When_shown_Then_it_names_the_pipeline() =>
        Assert.Equal($"pipeline {Pipeline}", WaitsFor([.. Queued, Car("b1", [1]), .. Building[1..], new PipelineCreated(1, Pipeline, RebasedSha, true, At(5))]));

    [Fact]
    public void Given_a_car_whose_pipeline_failed_behind_others_When_shown_Then_it_waits_for_the_train_s_verdict() =>
        Assert.StartsWith("the train's verdict: pipeline 4711 failed",
            WaitsFor([.. Queued, Car("b1", [1]), .. Building[1..], new PipelineCreated(1, Pipeline, RebasedSha, true, At(5)),
                new PipelineObserved(1, Pipeline, "failed", At(6))]));

    [Fact]
    public void Given_a_passed_car_not_at_the_head_When_shown_Then_it_waits_for_the_cars_ahead_by_name() =>
        Assert.Equal("the cars ahead to land: !1, !3", WaitsFor([.. Merging[..1], Car("b3", [1, 3]), .. Merging[1..]]));

    [Fact]
    public void Given_no_car_When_shown_Then_it_waits_for_one() =>
        Assert.Equal("a car: the train has none for it yet", WaitsFor(Queued));
}
