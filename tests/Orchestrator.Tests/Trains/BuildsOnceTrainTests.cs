using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Trains.TrainScript;

namespace Orchestrator.Tests.Trains;

/// <summary>
/// GitLab's merge train for a project with images (<see cref="TrainPolicy.BuildsOnce"/>): the car of the merge request
/// bumping a tag builds it in its own pipeline, cars needing it wait for that car's push and test on its digest, and a
/// failed build takes down only the merge requests needing the tag.
/// </summary>
public class BuildsOnceTrainTests
{
    private const string T = "build:T1";

    private static TrainScript MergeTrain(int budget = 4) => Open(new TrainPolicy(TrainStrategy.MergeTrain, budget, BuildsOnce: true));

    private static int Builds(TrainScript train) =>
        train.Events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Starts).Sum(s => s.Car.Builds.Count);

    [Fact]
    public void Given_a_bump_and_two_cars_behind_it_When_its_car_pushes_the_tag_Then_they_start_on_its_digest_and_it_was_built_once()
    {
        var train = MergeTrain().JoinAll(Mr(1, bumps: [T]), Mr(2), Mr(3))
            .Then(started: ["1 on []"]).ThenHeld($"it waits for {T}, being built by car-1");
        Assert.Equal([T], train.State.Cars.Single().Builds);

        // Only the car building the tag is believed, and only for that tag.
        train.PushBy("car-9", T, "sha256:forged").Then();
        train.PushBy("car-1", "build:other", "sha256:other").Then();
        Assert.Empty(train.State.Pushed);

        train.PushBy("car-1", T, "sha256:t1").Then(started: ["2 on [1]", "3 on [1,2]"]);
        Assert.All(train.Plan.Starts, s => Assert.Equal([new ImageDigest(T, "sha256:t1")], s.Car.TestsOn));
        train.PushBy("car-1", T, "sha256:again").Then();
        train.Pass(train.CarOf("1 on []")).Then(landed: [1]);
        train.Pass(train.CarOf("2 on [1]")).Then(landed: [2]).Pass(train.CarOf("3 on [1,2]")).Then(landed: [3]).ThenReplayConsistent();
        Assert.Equal(1, Builds(train));
    }

    [Fact]
    public void Given_a_failed_build_When_the_car_it_failed_in_is_judged_Then_those_bumping_the_tag_leave_untested_and_the_rest_is_rebuilt_without_them()
    {
        var train = MergeTrain().JoinAll(Mr(1), Mr(2, bumps: [T]), Mr(3, bumps: [T]), Mr(4))
            .Then(started: ["1 on []", "2 on [1]"]).ThenHeld($"it waits for {T}, being built by car-2");
        train.BuildFailed("car-9", T).Then();
        Assert.Empty(train.State.FailedBuilds);
        train.BuildFailed("car-2", T).Then().Fail(train.CarOf("2 on [1]")).Then();
        // Nothing is judged before the car it failed in reaches the head.
        train.Pass(train.CarOf("1 on []")).Then(landed: [1], rejected: [2, 3], started: ["4 on []"]).ThenReplayConsistent();
        var untested = train.Plan.Rejects.Single(r => r.Iid == 3);
        Assert.Equal(("", $"it needs {T}, whose build failed in car-2 (!2)"), (untested.CarId, untested.Reason));
        Assert.Empty(train.State.FailedBuilds);
        Assert.Equal(1, Builds(train));
    }

    [Fact]
    public void Given_a_pushed_tag_When_its_merge_request_leaves_without_landing_Then_the_push_is_forgotten_and_the_next_bump_builds_it_again()
    {
        var train = MergeTrain().JoinAll(Mr(1, bumps: [T]), Mr(2), Mr(3, bumps: [T]));
        train.PushBy("car-1", T, "sha256:t1").Then(started: ["2 on [1]", "3 on [1,2]"]);
        // The first car's tests fail: its attempt deletes what its pipeline built, so nobody may test on it.
        train.Fail(train.CarOf("1 on []")).Then(rejected: [1], cancelled: ["2 on [1]", "3 on [1,2]"], started: ["2 on []", "3 on [2]"]);
        Assert.DoesNotContain(T, train.State.Pushed.Keys);
        var rebuilt = train.State.Cars.Single(c => c.Mrs[0] == 3);
        Assert.Equal([T], rebuilt.Builds);
        Assert.Empty(rebuilt.TestsOn);
        train.ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_pushed_tag_When_the_car_that_pushed_it_is_rebuilt_Then_the_push_is_void_and_the_new_car_builds_it_from_its_own_head()
    {
        var train = MergeTrain().JoinAll(Mr(1), Mr(2, bumps: [T]), Mr(3));
        train.PushBy("car-2", T, "sha256:t1").Then(started: ["3 on [1,2]"]);
        // The image was built from the old head (on top of 1): once 1 is gone it is in no car's history.
        train.Fail(train.CarOf("1 on []")).Then(rejected: [1], cancelled: ["2 on [1]", "3 on [1,2]"], started: ["2 on []"])
            .ThenHeld($"it waits for {T}, being built by car-4");
        Assert.Empty(train.State.Pushed);
        Assert.Equal([T], train.State.Cars.Single(c => c.Mrs[0] == 2).Builds);
        train.PushBy("car-4", T, "sha256:t2").Then(started: ["3 on [2]"]);
        Assert.Equal([new ImageDigest(T, "sha256:t2")], train.Plan.Starts.Single().Car.TestsOn);
        train.Pass(train.CarOf("2 on []")).Then(landed: [2]);
        // A landed car's push is the branch's for good: no car owns it any more.
        Assert.Equal("sha256:t2", train.State.Pushed[T]);
        Assert.Empty(train.State.PushedFor);
        train.ThenReplayConsistent();
    }

    [Fact]
    public void Given_the_car_building_a_tag_is_cancelled_When_its_merge_request_gets_a_new_car_Then_the_new_car_builds_it()
    {
        var train = MergeTrain().JoinAll(Mr(1), Mr(2, bumps: [T]), Mr(3));
        train.Fail(train.CarOf("1 on []")).Then(rejected: [1], cancelled: ["2 on [1]"], started: ["2 on []"])
            .ThenHeld($"it waits for {T}, being built by car-3");
        Assert.Equal([new ImageBuild(T, "car-3")], train.State.Building);
        train.ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_builder_merged_before_its_push_was_reported_When_it_lands_Then_its_build_is_no_longer_awaited_nor_claimed()
    {
        var train = MergeTrain().JoinAll(Mr(1, bumps: [T]), Mr(2)).Then(started: ["1 on []"]);
        Assert.Contains(train.State.Building, b => b.Tag == T);

        // A human merged it: GitLab's merge is reported as its pipeline passing, with no push ever seen.
        train.Pass(train.CarOf("1 on []")).Then(started: ["2 on []"], landed: [1]);

        // The next car runs on the target, which holds the bump now: it neither builds the tag again nor waits for it.
        Assert.DoesNotContain(train.State.Building, b => b.Tag == T);
        Assert.Empty(train.State.Cars.Single().Builds);
        train.ThenReplayConsistent();
    }

    [Fact]
    public void Given_a_push_by_a_car_the_train_then_stopped_When_a_car_running_since_before_asks_what_was_built_beside_it_Then_the_push_still_counts()
    {
        var train = MergeTrain().JoinAll(Mr(1, bumps: [T]), Mr(2));
        train.PushBy("car-1", T, "sha256:t1").Then(started: ["2 on [1]"]);
        train.Fail(train.CarOf("1 on []")).Then(rejected: [1], cancelled: ["2 on [1]"], started: ["2 on []"]);
        // The train forgot the push (it dies with its car), but the registry changed while car 2's first pipeline ran.
        Assert.Empty(train.State.PushedFor);

        Assert.Equal([T], TrainRules.BuildsBeside(train.Events, train.State, DateTimeOffset.MinValue));
        Assert.Empty(TrainRules.BuildsBeside(train.Events, train.State, DateTimeOffset.MaxValue));
        // And the train vouches for that digest by the car that reported it (a registry guard judges the digest, not the tag).
        Assert.Equal([new CarPush(T, "sha256:t1", "car-1")], TrainRules.Beside(train.Events, train.State, DateTimeOffset.MinValue).Pushes);
        Assert.Empty(TrainRules.Beside(train.Events, train.State, DateTimeOffset.MaxValue).Pushes);
    }
}
