using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>A merge request as a car of its branch's merge train: the decisions its own decider makes from the train's word.</summary>
public sealed class TrainCarDeciderTests
{
    private const string Main = "main";
    private const string Target = "1111111111111111111111111111111111111111";
    private const string AheadHead = "2222222222222222222222222222222222222222";
    private const string Ours = "3333333333333333333333333333333333333333";
    private const string Rebuilt = "4444444444444444444444444444444444444444";

    private static TrainSeat Seat(string? car, long[] ahead, string? aheadHead = AheadHead, bool merged = false, string? reason = null) =>
        new(Main, car, ahead, aheadHead, merged, Reason: reason);

    private static IWorkflowEvent[] Riding(string car = "car-2", long[]? ahead = null) =>
    [
        .. Queued,
        new TrainCarAssigned(1, Seat(car, ahead ?? [1]), Target, AheadHead, "car 2", null, At(1)),
        new RebaseStarted(1, 1, "car 2", At(1)),
        new TrainCarAnnounced(1, car, 77, At(2)),
        new Rebased(1, Ours, AheadHead, At(3)),
        new FreshnessChecked(1, Ours, [], false, At(4)),
        new PipelineCreated(1, Pipeline, Ours, false, At(5)),
    ];

    [Fact]
    public void Given_a_queued_request_When_the_train_gives_it_a_car_behind_a_pushed_head_Then_it_rebases_onto_that_head()
    {
        var observed = new ObserveTrain(Seat("car-2", [1]), Target, At(1));

        var s = DeciderSpec.Given(Queued).When(observed).Then(
            new TrainCarAssigned(1, observed.Seat, Target, AheadHead, "car 2 of the merge train of `main`", null, At(1)),
            new RebaseStarted(1, 1, "car 2 of the merge train of `main`: car 2 of the merge train of `main`", At(1)));

        Assert.Equal((WorkflowState.Rebasing, "car-2", AheadHead), (s.State, s.Car!.CarId, s.Car.OntoSha));
    }

    [Fact]
    public void Given_a_queued_request_When_the_car_ahead_has_not_pushed_yet_Then_it_keeps_waiting_in_the_queue() =>
        DeciderSpec.Given(Queued).When(new ObserveTrain(Seat("car-2", [1], aheadHead: null), Target, At(1))).ThenNothing();

    [Fact]
    public void Given_a_car_with_a_running_pipeline_When_the_train_rebuilt_it_without_the_car_ahead_Then_the_pipeline_is_superseded_and_it_rebases_on_the_target()
    {
        var observed = new ObserveTrain(Seat("car-5", [], aheadHead: null, reason: "car-3 was stopped: !2 left"), Target, At(6));

        var events = DeciderSpec.Given(Riding()).When(observed).ThenEvents();

        var assigned = Assert.IsType<TrainCarAssigned>(events[0]);
        Assert.Equal((Target, (long?)Pipeline), (assigned.OntoSha, assigned.SupersededPipeline));
        Assert.StartsWith("the train was rebuilt", assigned.Reason);
        var s = events.Aggregate(Fold(Riding()), WorkflowEvolver.Evolve);
        Assert.Equal((WorkflowState.Rebasing, 2, (long?)null, (long?)null), (s.State, s.Rebases, s.PipelineId, s.Car!.NoteId));
    }

    [Fact]
    public void Given_a_rebuilt_car_When_it_plans_its_rewrite_Then_its_former_base_is_left_out_and_a_push_by_someone_else_is_refused()
    {
        var rebuilt = Fold([.. Riding(), new TrainCarAssigned(1, Seat("car-5", []), Target, Target, "the train was rebuilt", Pipeline, At(6)),
            new RebaseStarted(1, 2, "rebuilt", At(6))]);

        var planned = WorkflowDecider.Decide(new PlanRewrite(Ours, Target, [], "bot", "bot@x", At(7), Upstream: AheadHead), rebuilt).Events;
        Assert.Equal(AheadHead, Assert.IsType<RewritePlanned>(Assert.Single(planned)).Upstream);

        var pushed = WorkflowDecider.Decide(new PlanRewrite(Rebuilt, Target, [], "bot", "bot@x", At(7), Upstream: AheadHead), rebuilt).Events;
        Assert.StartsWith(WorkflowDecider.SomeonePushed, Assert.IsType<AttemptFailed>(pushed[^1]).Reason);
    }

    [Fact]
    public void Given_a_car_whose_pipeline_failed_When_cars_ahead_have_not_landed_Then_it_waits_for_the_train_untimed_and_the_verdict_ends_it()
    {
        var failed = Fold([.. Riding(), new PipelineObserved(1, Pipeline, "failed", At(20))]);
        Assert.Equal(WorkflowState.Building, failed.State);
        Assert.True(TrainCarRules.WaitingBehind(failed));
        var clock = new ObserveClock(new ClockReading(30, 60, At(0), null), At(600));
        Assert.Empty(WorkflowDecider.Decide(clock, failed).Events);

        var verdict = new ObserveTrain(new TrainSeat(Main, null, [], null, false, Rejected: "its pipeline failed on the branch as it is"), AheadHead, At(30));
        var events = WorkflowDecider.Decide(verdict, failed).Events;
        Assert.IsType<TrainCarRejected>(events[0]);
        Assert.StartsWith("CI failed! (car 2 of the merge train of `main`", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_verified_car_When_the_cars_ahead_have_landed_and_the_target_is_its_base_Then_it_reaches_the_head_and_may_merge()
    {
        var merging = Fold([.. Riding(), new PipelineObserved(1, Pipeline, "success", At(20)), new BuildVerified(1, Target, [], At(21))]);
        Assert.Equal(WorkflowState.Merging, merging.State);
        Assert.True(TrainCarRules.WaitingBehind(merging));
        Assert.Empty(WorkflowDecider.Decide(new ObserveTrain(Seat("car-2", [1]), Target, At(22)), merging).Events);

        var landed = new ObserveTrain(Seat("car-2", [1], merged: true), AheadHead, At(40));
        var s = DeciderSpec.Given(Riding().Concat([new PipelineObserved(1, Pipeline, "success", At(20)), new BuildVerified(1, Target, [], At(21))]).ToArray())
            .When(landed).Then(new TrainCarAtHead(1, landed.Seat, AheadHead, At(40)));

        Assert.True(s.Car!.AtHead);
        Assert.Equal(At(40), s.StepStartedAt);
        Assert.False(TrainCarRules.WaitingBehind(s));
    }

    [Fact]
    public void Given_a_car_whose_cars_ahead_landed_When_someone_else_moved_the_target_meanwhile_Then_it_is_rebuilt_on_the_target()
    {
        IWorkflowEvent[] merging = [.. Riding(), new PipelineObserved(1, Pipeline, "success", At(20)), new BuildVerified(1, Target, [], At(21))];

        var events = DeciderSpec.Given(merging).When(new ObserveTrain(Seat("car-2", [1], merged: true), Rebuilt, At(40))).ThenEvents();

        Assert.Equal(("the target branch moved", Rebuilt), (Assert.IsType<TrainCarAssigned>(events[0]).Reason, ((TrainCarAssigned)events[0]).OntoSha));
    }

    [Fact]
    public void Given_a_car_at_the_head_When_GitLab_refuses_its_merge_because_the_target_moved_Then_the_train_rebuilds_it_rather_than_a_rebase_onto_the_same_base()
    {
        var landed = new ObserveTrain(Seat("car-2", [1], merged: true), AheadHead, At(40));
        IWorkflowEvent[] atHead = [.. Riding(), new PipelineObserved(1, Pipeline, "success", At(20)), new BuildVerified(1, Target, [], At(21)),
            new TrainCarAtHead(1, landed.Seat, AheadHead, At(40))];

        var refused = DeciderSpec.Given(atHead).When(new RecordMergeRefusal(406, "Branch cannot be merged", new MergeRefusalFacts(Ours, Rebuilt, "can_be_merged"), 3, At(41)))
            .ThenEvents();

        Assert.Equal(MergeRefusal.TargetMoved, Assert.IsType<MergeRefused>(Assert.Single(refused)).Refusal);
        var rebuilt = WorkflowDecider.Decide(new ObserveTrain(landed.Seat, Rebuilt, At(42)), Fold([.. atHead, .. refused])).Events;
        Assert.Equal(Rebuilt, Assert.IsType<TrainCarAssigned>(rebuilt[0]).OntoSha);
    }

    [Fact]
    public void Given_a_recorded_train_history_When_replayed_Then_every_decision_is_the_same()
    {
        var stream = new List<IWorkflowEvent>(Queued);
        void Decide(WorkflowCommand c) => stream.AddRange(WorkflowDecider.Decide(c, Fold(stream)).Events);
        Decide(new ObserveTrain(Seat("car-2", [1]), Target, At(1)));
        Decide(new RecordCarNote("car-2", 77, At(2)));
        Decide(new ObserveTrain(Seat("car-5", [], aheadHead: null, reason: "car-2 was stopped"), Target, At(6)));
        Decide(new RecordCarNote("car-5", 78, At(7)));

        Assert.Equal(["train_car_assigned", "rebase_started", "train_car_announced", "train_car_assigned", "rebase_started", "train_car_announced"],
            stream.Skip(1).Select(WorkflowEventNames.NameOf));
        Assert.True(WorkflowReplay.Run(stream).Consistent);
    }
}
