using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

public class MergeTrainTests
{
    private static TrainScript FourCars() => TrainScript.Open(TrainStrategy.MergeTrain, budget: 4)
        .Join(1).Then(started: ["1 on []"])
        .Join(2).Then(started: ["2 on [1]"])
        .Join(3).Then(started: ["3 on [1,2]"])
        .Join(4).Then(started: ["4 on [1,2,3]"]);

    [Fact]
    public void Given_four_cars_when_the_second_fails_then_everything_behind_it_is_rebuilt_without_it()
    {
        var train = FourCars();
        train.Pass(train.CarOf("1 on []")).Then(landed: [1]);
        train.Fail(train.CarOf("2 on [1]"))
            .Then(started: ["3 on []", "4 on [3]"], cancelled: ["3 on [1,2]", "4 on [1,2,3]"], rejected: [2])
            .ThenRunning("3 on []", "4 on [3]");
        // The car behind passes first: it waits for the head, then both land in order in one plan.
        train.Pass(train.CarOf("4 on [3]")).Then();
        train.Pass(train.CarOf("3 on []")).Then(landed: [3, 4]).ThenRunning().ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_full_train_when_another_joins_then_it_waits_for_a_car_to_land()
    {
        var train = FourCars().Join(5).Then();
        train.Pass(train.CarOf("1 on []")).Then(started: ["5 on [2,3,4]"], landed: [1]).ThenReplayConsistent();
    }

    [Fact]
    public void Given_four_cars_when_the_second_is_withdrawn_then_its_car_and_those_behind_it_are_cancelled_and_rebuilt()
    {
        FourCars().Withdraw(2)
            .Then(started: ["3 on [1]", "4 on [1,3]"], cancelled: ["2 on [1]", "3 on [1,2]", "4 on [1,2,3]"])
            .ThenRunning("1 on []", "3 on [1]", "4 on [1,3]")
            .ThenReplayConsistent();
    }

    [Fact]
    public void Given_two_cars_needing_one_bumped_tag_when_the_train_starts_then_each_pipeline_builds_it()
    {
        var train = TrainScript.Open(TrainStrategy.MergeTrain, budget: 4)
            .Join(1, bumps: ["build:T1"]).Join(2).Join(3);
        Assert.All(train.State.Cars, c => Assert.Equal(["build:T1"], c.Builds));
        train.ThenReplayConsistent();
    }
}
