using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Trains.TrainScript;

namespace Orchestrator.Tests.Trains;

public class ImageAwareTrainTests
{
    private static TrainScript BumpThenTwoNeedingIt(TrainStrategy strategy) =>
        Open(strategy, budget: 4).JoinAll(Mr(1, chance: 1, bumps: ["build:T1"]), Mr(2, chance: 1), Mr(3, chance: 1));

    private static int Builds(TrainScript train) =>
        train.Events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Starts).Sum(s => s.Car.Builds.Count);

    [Fact]
    public void Given_two_cars_needing_one_bumped_tag_when_it_is_being_built_then_they_start_once_pushed_and_test_on_its_digest()
    {
        var train = BumpThenTwoNeedingIt(TrainStrategy.ImageAwareBestFirst)
            .Then(started: ["image of 1"]).ThenHeld("it waits for build:T1, being built by car-1");
        Assert.Equal(["build:T1"], train.State.Cars.Single().Builds);
        train.Push("build:T1", "sha256:t1").Then(started: ["1 on []", "2 on [1]", "3 on [1,2]"]);
        Assert.All(train.Plan.Starts, s =>
        {
            Assert.Empty(s.Car.Builds);
            Assert.Equal([new ImageDigest("build:T1", "sha256:t1")], s.Car.TestsOn);
        });
        train.Pass(train.CarOf("image of 1")).Then();
        Assert.Contains(train.Plan.Retires, r => r.Reason == "its image build is done" && !r.CancelPipeline);
        train.Pass(train.CarOf("2 on [1]")).Pass(train.CarOf("3 on [1,2]")).Then();
        train.Pass(train.CarOf("1 on []")).Then(landed: [1, 2, 3]).ThenRunning().ThenReplayConsistent();
        Assert.Equal(1, Builds(train));
    }

    [Fact]
    public void Given_two_cars_needing_one_bumped_tag_when_not_image_aware_then_every_car_builds_it()
    {
        var train = BumpThenTwoNeedingIt(TrainStrategy.BestFirst).Then(started: ["1 on []", "2 on [1]", "3 on [1,2]"]);
        Assert.Equal(3, Builds(train));
    }

    private static TrainScript RestartBehindAFailureWhileATagBuilds(TrainStrategy strategy)
    {
        var train = Open(strategy, budget: 5)
            .JoinAll(Mr(1, chance: 1), Mr(2, chance: 1), Mr(3, chance: 1, bumps: ["build:T3"]), Mr(4, chance: 1));
        return train.Fail(train.CarOf("1 on []"));
    }

    [Fact]
    public void Given_a_train_restarted_behind_a_failure_while_a_tag_builds_when_it_pushes_then_the_restarted_cars_test_on_it()
    {
        var train = RestartBehindAFailureWhileATagBuilds(TrainStrategy.ImageAwareBestFirst)
            .Then(started: ["2 on []"], cancelled: ["2 on [1]"], rejected: [1])
            .ThenHeld("it waits for build:T3, being built by car-1");
        train.Push("build:T3", "sha256:t3").Then(started: ["3 on [2]", "4 on [2,3]"]).ThenReplayConsistent();
        Assert.Equal(1, Builds(train));
    }

    [Fact]
    public void Given_a_train_restarted_behind_a_failure_while_a_tag_builds_when_not_image_aware_then_the_restarted_cars_build_it_again()
    {
        var train = RestartBehindAFailureWhileATagBuilds(TrainStrategy.MergeTrain)
            .Then(started: ["2 on []", "3 on [2]", "4 on [2,3]"], cancelled: ["2 on [1]", "3 on [1,2]", "4 on [1,2,3]"], rejected: [1]);
        Assert.Equal(4, Builds(train));
    }

    [Fact]
    public void Given_a_merge_request_needing_a_tag_nothing_ahead_bumps_when_planning_then_it_is_held_until_pushed()
    {
        Open(TrainStrategy.ImageAwareBestFirst, budget: 2).JoinAll(Mr(1, chance: 1, needs: ["build:T9"]))
            .Then().ThenHeld("it needs build:T9, which nothing it tests bumps")
            .Push("build:T9", "sha256:t9").Then(started: ["1 on []"]).ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_doubtful_merge_request_in_the_middle_when_it_fails_then_image_aware_plans_like_best_first()
    {
        foreach (var strategy in new[] { TrainStrategy.BestFirst, TrainStrategy.ImageAwareBestFirst })
        {
            var train = Open(strategy, budget: 4).JoinAll(Mr(1, chance: 1), Mr(2, chance: 0.3), Mr(3, chance: 1), Mr(4, chance: 1))
                .Then(started: ["1 on []", "2 on [1]", "3 on [1] without [2]", "4 on [1,3] without [2]"]);
            train.Fail(train.CarOf("2 on [1]")).Then().ThenRunning("1 on []", "3 on [1] without [2]", "4 on [1,3] without [2]");
            train.Pass(train.CarOf("1 on []")).Then(landed: [1], rejected: [2]).ThenReplayConsistent();
        }
    }
}
