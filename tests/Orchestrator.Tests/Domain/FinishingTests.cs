using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// After an attempt ended, what is left (its note, images to take back) is retried while a retry may help, and given up
/// on record after a few refusals no retry changes, so a merge request GitLab no longer shows the bot is not asked about
/// at every poll for ever.
/// </summary>
public sealed class FinishingTests
{
    private static RecordStepError Refused(int minute, int status = 403) => new("gitlab", status, "403 Forbidden", At(minute));

    private static IWorkflowEvent[] Errored(int count) =>
        [.. Failed, .. Enumerable.Range(1, count).Select(n => (IWorkflowEvent)new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", n, At(5 + n)))];

    [Fact]
    public void Given_a_failed_attempt_whose_note_gitlab_refuses_When_refused_a_third_time_Then_what_is_left_is_given_up_on_record()
    {
        Assert.True(Fold(Failed).NeedsWork);
        Given(Failed).When(Refused(6)).Then(new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", 1, At(6)));

        var state = Given(Errored(2)).When(Refused(8)).Then(
            new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", 3, At(8)),
            new FinishingAbandoned(1, WorkflowState.Failed, "GitLab refused it 3 times (403): 403 Forbidden", [], At(8)));

        Assert.False(state.NeedsWork);
        Assert.Equal(0, state.OutcomeNoteId);
    }

    [Fact]
    public void Given_an_ended_attempt_When_gitlab_fails_in_a_way_a_retry_may_heal_Then_nothing_is_given_up()
    {
        Given(Errored(2)).When(Refused(8, status: 503)).ThenNothing();
        Given(Errored(2)).When(Refused(8, status: 429)).ThenNothing();
    }

    [Fact]
    public void Given_images_left_to_take_back_When_given_up_Then_the_record_names_them_for_a_person_to_delete()
    {
        IWorkflowEvent[] failed =
        [
            .. Building, new PipelinePrepared(1, [], [], At(4)), new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), 17),
            new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(30)),
            new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", 1, At(31)),
            new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", 2, At(32)),
        ];

        var abandoned = Assert.IsType<FinishingAbandoned>(WorkflowDecider.Decide(Refused(33), Fold(failed)).Events[1]);

        Assert.Equal([$"{StaleBuildImage.Name}:{StaleBuildImage.Tag}"], abandoned.LeftBehind);
        Assert.Contains("delete by hand", WorkflowTimeline.Of([.. failed, abandoned]).Last().Entries.Last().Summary);
    }

    [Fact]
    public void Given_a_recorded_abandonment_When_replayed_Then_it_is_decided_again()
    {
        var events = WorkflowDecider.Decide(Refused(8), Fold(Errored(2))).Events;

        Assert.True(WorkflowReplay.Run([.. Errored(2), .. events]).Consistent);
    }
}

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
}
