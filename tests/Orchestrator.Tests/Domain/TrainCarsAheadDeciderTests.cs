using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>Before a car pushes the cars ahead or runs their code, each of their requesters must still be allowed to merge.</summary>
public sealed class TrainCarsAheadDeciderTests
{
    private const string Target = "1111111111111111111111111111111111111111";
    private const string AheadHead = "2222222222222222222222222222222222222222";
    private const string Ours = "3333333333333333333333333333333333333333";

    private static readonly Requester Alice = Requester.Person(TriggerKind.Assignment, "alice", 7);
    private static PermissionObservation Role(int level) => new("main", [], 7, level);
    private static CarAheadRequester Ahead(long iid, int level) => new(iid, Alice, Role(level));

    /// <summary>Car 3, tested on !1 and !2, about to push its speculative head.</summary>
    private static IWorkflowEvent[] Rebasing =>
    [
        .. Queued,
        new TrainCarAssigned(1, new TrainSeat("main", "car-3", [1, 2], AheadHead, false), Target, AheadHead, "car 3", null, At(1)),
        new RebaseStarted(1, 1, "car 3", At(1)),
    ];

    [Fact]
    public void Given_a_car_about_to_push_When_every_requester_ahead_may_still_merge_Then_it_is_recorded_once_for_this_rebase()
    {
        var seen = new ObserveCarsAhead(PermissionCheckpoint.Rebase, [Ahead(1, 30), Ahead(2, 40)], [], At(2));

        var events = DeciderSpec.Given(Rebasing).When(seen).ThenEvents();
        var s = events.Aggregate(Fold(Rebasing), WorkflowEvolver.Evolve);

        var checkedEvent = Assert.IsType<TrainCarsAheadChecked>(Assert.Single(events));
        Assert.Equal((PermissionCheckpoint.Rebase, 1, (string?)null), (checkedEvent.Checkpoint, checkedEvent.Rebase, checkedEvent.Refused));
        Assert.Equal([1L, 2L], checkedEvent.Verdicts.Where(v => v.Allowed).Select(v => v.Iid));

        Assert.True(TrainCarsAhead.Checked(s, PermissionCheckpoint.Rebase));
        Assert.False(TrainCarsAhead.Checked(s, PermissionCheckpoint.Pipeline));
        Assert.Empty(WorkflowDecider.Decide(seen, s).Events);
    }

    [Fact]
    public void Given_a_car_about_to_push_When_a_requester_ahead_lost_their_role_Then_it_waits_untimed_and_is_recorded_again_only_when_that_changes()
    {
        var refused = new ObserveCarsAhead(PermissionCheckpoint.Rebase, [Ahead(1, 30), Ahead(2, 20)], [], At(2));

        var events = DeciderSpec.Given(Rebasing).When(refused).ThenEvents();
        var s = events.Aggregate(Fold(Rebasing), WorkflowEvolver.Evolve);

        Assert.StartsWith("@alice may no longer merge !2, a car ahead", Assert.IsType<TrainCarsAheadChecked>(Assert.Single(events)).Refused);
        Assert.False(TrainCarsAhead.Checked(s, PermissionCheckpoint.Rebase));
        Assert.True(TrainCarRules.WaitingBehind(s));
        Assert.Empty(WorkflowDecider.Decide(new ObserveClock(new ClockReading(30, 60, At(0), null), At(600)), s).Events);
        Assert.Empty(WorkflowDecider.Decide(refused with { At = At(3) }, s).Events);
        var restored = WorkflowDecider.Decide(new ObserveCarsAhead(PermissionCheckpoint.Rebase, [Ahead(1, 30), Ahead(2, 30)], [], At(4)), s).Events;
        Assert.Null(Assert.IsType<TrainCarsAheadChecked>(Assert.Single(restored)).Refused);
    }

    [Fact]
    public void Given_a_car_When_a_car_ahead_is_not_looked_at_Then_it_is_refused_but_one_that_landed_needs_no_permission()
    {
        var missing = WorkflowDecider.Decide(new ObserveCarsAhead(PermissionCheckpoint.Rebase, [Ahead(1, 30)], [], At(2)), Fold(Rebasing)).Events;
        Assert.Contains("!2 were not looked at", Assert.IsType<TrainCarsAheadChecked>(Assert.Single(missing)).Refused);

        var landed = WorkflowDecider.Decide(new ObserveCarsAhead(PermissionCheckpoint.Rebase,
            [new CarAheadRequester(1, Alice, null, Landed: true), Ahead(2, 30)], [], At(2)), Fold(Rebasing)).Events;
        Assert.Null(Assert.IsType<TrainCarsAheadChecked>(Assert.Single(landed)).Refused);
    }

    [Fact]
    public void Given_a_car_building_When_the_pipeline_check_is_asked_in_another_step_Then_it_decides_nothing_and_a_recorded_history_replays()
    {
        var stream = new List<IWorkflowEvent>(Queued);
        void Decide(WorkflowCommand c) => stream.AddRange(WorkflowDecider.Decide(c, Fold(stream)).Events);
        Decide(new ObserveTrain(new TrainSeat("main", "car-3", [1, 2], AheadHead, false), Target, At(1)));
        Decide(new ObserveCarsAhead(PermissionCheckpoint.Pipeline, [Ahead(1, 30), Ahead(2, 30)], [], At(2)));
        Assert.Equal(3, stream.Count);
        Decide(new ObserveCarsAhead(PermissionCheckpoint.Rebase, [Ahead(1, 30), Ahead(2, 10)], [], At(3)));
        Decide(new ObserveCarsAhead(PermissionCheckpoint.Rebase, [Ahead(1, 30), Ahead(2, 30)], [], At(4)));
        Decide(RecordRebase.Landed(Ours, AheadHead, At(5)));
        Decide(new RecordFreshness([], false, At(6)));
        Decide(new ObserveCarsAhead(PermissionCheckpoint.Pipeline, [Ahead(1, 30), Ahead(2, 30)], [], At(7)));

        Assert.Equal(3, stream.OfType<TrainCarsAheadChecked>().Count());
        Assert.True(TrainCarsAhead.Checked(Fold(stream), PermissionCheckpoint.Pipeline));
        var replay = WorkflowReplay.Run(stream);
        Assert.True(replay.Consistent, string.Join("; ", replay.Decisions.Where(d => !d.Same).Select(d => $"{d.Command} at {d.Version}")));
    }
}
