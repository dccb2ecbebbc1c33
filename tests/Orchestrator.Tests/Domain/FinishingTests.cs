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
