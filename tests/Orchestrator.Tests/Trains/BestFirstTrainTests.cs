using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Trains.TrainScript;

namespace Orchestrator.Tests.Trains;

public class BestFirstTrainTests
{
    // MR 2 is likely to fail: the budget goes to the paths without it rather than deeper on top of it.
    private static TrainScript FourWithADoubtfulSecond(TrainStrategy strategy = TrainStrategy.BestFirst) =>
        Open(strategy, budget: 4).JoinAll(Mr(1), Mr(2, chance: 0.3), Mr(3), Mr(4));

    [Fact]
    public void Given_a_doubtful_merge_request_when_planning_then_the_budget_speculates_on_its_failure()
    {
        FourWithADoubtfulSecond().Then(started: ["1 on []", "2 on [1]", "3 on [1] without [2]", "4 on [1,3] without [2]"])
            .ThenHeld("the budget of 4 pipelines is in use");
    }

    [Fact]
    public void Given_four_cars_when_the_doubtful_one_fails_then_nothing_is_rebuilt_and_the_rest_land()
    {
        var train = FourWithADoubtfulSecond();
        // With 1 landed, the free pipeline goes to the next most likely work: 3 on top of 2.
        train.Pass(train.CarOf("1 on []")).Then(started: ["3 on [2]"], landed: [1]);
        train.Fail(train.CarOf("2 on [1]")).Then(started: ["4 on [] without [3]"], cancelled: ["3 on [2]"], rejected: [2])
            .ThenRunning("3 on [1] without [2]", "4 on [1,3] without [2]", "4 on [] without [3]");
        train.Pass(train.CarOf("3 on [1] without [2]")).Then(cancelled: ["4 on [] without [3]"], landed: [3]);
        train.Pass(train.CarOf("4 on [1,3] without [2]")).Then(landed: [4]).ThenRunning().ThenReplayConsistent();
    }

    [Fact]
    public void Given_four_cars_when_the_doubtful_one_passes_then_the_speculation_on_its_failure_is_cancelled()
    {
        var train = FourWithADoubtfulSecond();
        train.Pass(train.CarOf("1 on []")).Pass(train.CarOf("2 on [1]"))
            .Then(started: ["4 on [3]", "4 on [] without [3]"], cancelled: ["3 on [1] without [2]", "4 on [1,3] without [2]"], landed: [2])
            .ThenRunning("3 on [2]", "4 on [3]", "4 on [] without [3]")
            .ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_failure_not_yet_on_the_real_branch_when_planning_then_its_verdict_steers_the_budget()
    {
        // The car of 3 fails while 1 and 2 still run: 3 on top of them is now certain to fail, so the next one is
        // tested without 3 (1 and 2 are certain to pass: nothing is spent on their failure).
        var train = Open(TrainStrategy.BestFirst, budget: 3).JoinAll(Mr(1, chance: 1), Mr(2, chance: 1), Mr(3));
        train.Fail(train.CarOf("3 on [1,2]")).Then();
        train.Join(4).Then(started: ["4 on [1,2] without [3]"]).ThenReplayConsistent();
    }

    [Fact]
    public void Given_the_budget_in_use_when_more_join_then_they_are_held_for_the_budget()
    {
        Open(TrainStrategy.BestFirst, budget: 2).JoinAll(1, 2, 3, 4)
            .Then(started: ["1 on []", "2 on [1]"]).ThenHeld("the budget of 2 pipelines is in use")
            .Join(5).Then().ThenHeld("the budget of 2 pipelines is in use").ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_speculation_on_a_failure_when_that_merge_request_is_withdrawn_then_the_speculation_is_kept()
    {
        FourWithADoubtfulSecond().Withdraw(2)
            .Then(started: ["3 on [] without [1]"], cancelled: ["2 on [1]"])
            .ThenRunning("1 on []", "3 on [1] without [2]", "4 on [1,3] without [2]", "3 on [] without [1]").ThenReplayConsistent();
    }
}
