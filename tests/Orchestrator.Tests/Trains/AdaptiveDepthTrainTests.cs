using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

public class AdaptiveDepthTrainTests
{
    [Fact]
    public void Given_a_train_as_deep_as_the_budget_when_a_car_fails_then_it_halves_and_grows_again_by_landings()
    {
        var train = TrainScript.Open(TrainStrategy.AdaptiveDepth, budget: 4).JoinAll(1, 2, 3, 4, 5, 6)
            .Then(started: ["1 on []", "2 on [1]", "3 on [1,2]", "4 on [1,2,3]"]);
        Assert.Equal(4, train.Plan.Window);
        train.Pass(train.CarOf("1 on []")).Then(started: ["5 on [2,3,4]"], landed: [1]);
        Assert.Equal(4, train.Plan.Window);
        train.Fail(train.CarOf("2 on [1]"))
            .Then(started: ["3 on []", "4 on [3]"], cancelled: ["3 on [1,2]", "4 on [1,2,3]", "5 on [2,3,4]"], rejected: [2]);
        Assert.Equal(2, train.Plan.Window);
        train.Pass(train.CarOf("3 on []")).Then(started: ["5 on [4]", "6 on [4,5]"], landed: [3]);
        Assert.Equal(3, train.Plan.Window);
        train.ThenReplayConsistent();
    }

    [Fact]
    public void Given_repeated_failures_when_the_window_halves_then_it_never_goes_below_one()
    {
        var train = TrainScript.Open(TrainStrategy.AdaptiveDepth, budget: 2).JoinAll(1, 2, 3);
        train.Fail(train.CarOf("1 on []")).Then(started: ["2 on []"], cancelled: ["2 on [1]"], rejected: [1]);
        Assert.Equal(1, train.Plan.Window);
        train.Fail(train.CarOf("2 on []")).Then(started: ["3 on []"], rejected: [2]);
        Assert.Equal(1, train.Plan.Window);
        train.ThenReplayConsistent();
    }
}
