using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

public class BatchTrainTests
{
    [Fact]
    public void Given_a_batch_of_four_when_it_fails_then_it_is_bisected_until_the_culprit_is_alone()
    {
        var train = TrainScript.Open(TrainStrategy.Batch, budget: 2, batchSize: 4).JoinAll(1, 2, 3, 4);
        train.ThenRunning("1+2+3+4 on []");
        train.Fail(train.CarOf("1+2+3+4 on []")).Then(started: ["1+2 on []", "3+4 on [1,2]"]);
        Assert.Equal(2, train.Plan.Splits.Single().MaxGroup);
        train.Fail(train.CarOf("1+2 on []"))
            .Then(started: ["1 on []", "2 on [1]"], cancelled: ["3+4 on [1,2]"]);
        train.Pass(train.CarOf("1 on []")).Then(started: ["3+4 on [2]"], landed: [1]);
        train.Fail(train.CarOf("2 on [1]")).Then(started: ["3+4 on []"], cancelled: ["3+4 on [2]"], rejected: [2]);
        train.Pass(train.CarOf("3+4 on []")).Then(landed: [3, 4]).ThenRunning().ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_running_batch_when_one_of_it_is_withdrawn_then_the_batch_is_cancelled_and_formed_again()
    {
        TrainScript.Open(TrainStrategy.Batch, budget: 1, batchSize: 4).JoinAll(1, 2, 3)
            .Withdraw(2).Then(started: ["1+3 on []"], cancelled: ["1+2+3 on []"]).ThenReplayConsistent();
    }
}
