using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

public class SerialTrainTests
{
    [Fact]
    public void Given_four_queued_when_the_second_fails_then_one_car_at_a_time_and_the_rest_land()
    {
        var train = TrainScript.Open(TrainStrategy.Serial, budget: 4)
            .Join(1).Then(started: ["1 on []"])
            .Join(2).Then()
            .JoinAll(3, 4).Then().ThenRunning("1 on []");
        train.Pass(train.CarOf("1 on []")).Then(started: ["2 on []"], landed: [1]);
        train.Fail(train.CarOf("2 on []")).Then(started: ["3 on []"], rejected: [2]);
        train.Pass(train.CarOf("3 on []")).Then(started: ["4 on []"], landed: [3]);
        train.Pass(train.CarOf("4 on []")).Then(landed: [4]).ThenRunning()
            .ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_bumped_image_when_its_car_pushed_and_landed_then_the_next_car_tests_on_the_pushed_digest()
    {
        var train = TrainScript.Open(TrainStrategy.Serial, budget: 4)
            .Join(1, bumps: ["build:T1"]).Join(2, needs: ["build:T1"]);
        Assert.Equal(["build:T1"], train.State.Cars.Single().Builds);
        train.Push("build:T1", "sha256:t1").Then();
        train.Pass(train.CarOf("1 on []")).Then(started: ["2 on []"], landed: [1]);
        var second = train.State.Cars.Single();
        Assert.Empty(second.Builds);
        Assert.Equal([new ImageDigest("build:T1", "sha256:t1")], second.TestsOn);
        train.ThenReplayConsistent();
    }
}
