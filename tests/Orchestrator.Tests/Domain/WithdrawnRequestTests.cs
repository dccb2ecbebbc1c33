using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A request made by assigning the bot or by the trigger label stands only while the bot is assigned or the label is on:
/// a withdrawal whose webhook was lost, or an old assignment delivered late, ends the attempt at the next checkpoint.
/// </summary>
public sealed class WithdrawnRequestTests
{
    private static MergeRequestFacts Facts(bool? assigned, bool? labelOn) =>
        new("opened", false, false, true, false, null, RebasedSha, 0, 0, 0, assigned, labelOn);

    [Theory]
    [InlineData(TriggerKind.Assignment, false, true, "no longer assigned")]
    [InlineData(TriggerKind.ReconciledAssignment, false, null, "no longer assigned")]
    [InlineData(TriggerKind.Label, true, false, "merge label is no longer")]
    [InlineData(TriggerKind.ReconciledLabel, null, false, "merge label is no longer")]
    [InlineData(TriggerKind.Assignment, true, false, null)]
    [InlineData(TriggerKind.Label, false, true, null)]
    [InlineData(TriggerKind.Note, false, false, null)]
    [InlineData(TriggerKind.Api, false, false, null)]
    [InlineData(TriggerKind.Assignment, null, null, null)]
    public void Given_how_the_merge_was_asked_for_When_the_mr_is_seen_Then_a_withdrawn_trigger_is_named(TriggerKind trigger, bool? assigned, bool? labelOn, string? why)
    {
        var withdrawn = Facts(assigned, labelOn).Withdrawn(new Requester(trigger, "maintainer", 7));

        if (why is null) Assert.Null(withdrawn);
        else Assert.Contains(why, withdrawn);
    }

    [Fact]
    public void Given_an_assigned_request_When_the_request_checkpoint_sees_the_bot_unassigned_Then_the_attempt_is_cancelled_with_that_reason()
    {
        IWorkflowEvent[] queued = [new MergeRequested(1, "maintainer", At(0), Requester.Person(TriggerKind.Assignment, "maintainer", 7))];
        var seen = new PermissionObservation("main", [new ProtectedBranchRule("main", [new AccessGrant(40)])], 7, 40);

        var events = WorkflowDecider.Decide(new RecordCheckpoint(PermissionCheckpoint.Request, "main", seen, [], At(1), Facts(false, null), 0), Fold(queued)).Events;

        Assert.IsType<PermissionChecked>(events[0]);
        Assert.Contains("no longer assigned", Assert.IsType<AttemptCancelled>(events[^1]).Reason);
        // Assigned still: the same check lets it go on.
        Assert.DoesNotContain(WorkflowDecider.Decide(new RecordCheckpoint(PermissionCheckpoint.Request, "main", seen, [], At(1), Facts(true, null), 0), Fold(queued)).Events,
            e => e is AttemptCancelled or AttemptFailed);
    }

    [Theory]
    [InlineData(TriggerKind.Assignment, 8, true)]
    [InlineData(TriggerKind.ReconciledAssignment, 8, true)]
    [InlineData(TriggerKind.Assignment, 7, false)]
    [InlineData(TriggerKind.Label, 8, false)]
    [InlineData(TriggerKind.Api, 8, false)]
    public void Given_an_attempt_asked_for_by_assignment_When_someone_else_assigns_the_bot_Then_it_was_unassigned_since_and_the_attempt_is_cancelled(
        TriggerKind standing, long newcomer, bool cancelled)
    {
        IWorkflowEvent[] building = [new MergeRequested(1, "maintainer", At(0), new Requester(standing, "maintainer", 7)), .. BuildingWithPipeline[1..]];

        var events = WorkflowDecider.Decide(new Enqueue("dave", At(9), Requester.Person(TriggerKind.Assignment, "dave", newcomer)), Fold(building)).Events;

        if (!cancelled) Assert.Empty(events);
        else Assert.Equal("I was unassigned and then assigned again by @dave while I worked for @maintainer; assign me again to have it merged",
            Assert.IsType<AttemptCancelled>(Assert.Single(events)).Reason);
    }
}
