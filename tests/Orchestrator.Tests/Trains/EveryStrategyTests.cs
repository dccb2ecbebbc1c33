using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Trains.TrainScript;

namespace Orchestrator.Tests.Trains;

/// <summary>The four scripted histories for every strategy, played to the end: what must hold whatever the strategy proposes.</summary>
public class EveryStrategyTests
{
    public static TheoryData<TrainStrategy> Strategies => [.. Enum.GetValues<TrainStrategy>()];

    [Theory, MemberData(nameof(Strategies))]
    public void Given_a_failing_car_in_the_middle_of_four_when_played_out_then_the_other_three_land_in_order(TrainStrategy strategy)
    {
        var train = Open(strategy, budget: 4).JoinAll(1, 2, 3, 4);
        Assert.InRange(train.RunToEnd(breaking: 2), 1, 4);
        Assert.Equal([1L, 3, 4], train.Landed);
        Assert.Equal([2L], train.Rejected);
        train.ThenReplayConsistent();
    }

    [Theory, MemberData(nameof(Strategies))]
    public void Given_two_cars_needing_one_bumped_image_when_played_out_then_all_land_tested_on_it(TrainStrategy strategy)
    {
        var train = Open(strategy, budget: 4)
            .JoinAll(Mr(1, bumps: ["build:T1"]), Mr(2, needs: ["build:T1"]), Mr(3, needs: ["build:T1"]));
        train.RunToEnd();
        Assert.Equal([1L, 2, 3], train.Landed);
        Assert.All(train.Started.Where(c => !c.ImageOnly),
            c => Assert.True(c.Builds.Contains("build:T1") || c.TestsOn.Contains(new ImageDigest("build:T1", "sha256:build:T1"))));
        var builds = train.Started.Sum(c => c.Builds.Count);
        if (strategy == TrainStrategy.ImageAwareBestFirst) Assert.Equal(1, builds);
        else Assert.True(builds >= 1);
        train.ThenReplayConsistent();
    }

    [Theory, MemberData(nameof(Strategies))]
    public void Given_more_work_than_the_budget_when_played_out_then_never_more_pipelines_than_the_budget_and_all_land(TrainStrategy strategy)
    {
        var train = Open(strategy, budget: 2, batchSize: 2).JoinAll(1, 2, 3, 4, 5, 6, 7, 8);
        Assert.InRange(train.RunToEnd(), 1, 2);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8], train.Landed);
        train.ThenReplayConsistent();
    }

    [Theory, MemberData(nameof(Strategies))]
    public void Given_a_merge_request_withdrawn_while_tested_when_played_out_then_it_never_lands_and_nothing_tests_it(TrainStrategy strategy)
    {
        var train = Open(strategy, budget: 4).JoinAll(1, 2, 3, 4).Withdraw(2);
        Assert.DoesNotContain(train.State.Cars, c => c.Contents.Contains(2));
        train.RunToEnd();
        Assert.Equal([1L, 3, 4], train.Landed);
        Assert.Empty(train.Rejected);
        train.ThenReplayConsistent();
    }
}
