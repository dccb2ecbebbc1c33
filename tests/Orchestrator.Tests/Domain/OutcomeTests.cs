using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>How an attempt ends on the merge request: who gets it back, what is taken back, what the note says.</summary>
public sealed class OutcomeTests
{
    private const long Author = 7, Asker = 9;
    private static readonly ProjectPolicy Policy = new([], null, TriggerLabel: "merge-me");

    private static OutcomeFacts Mr(bool authorIsBot = false, bool botAssigned = true, bool labelOn = false, string state = "opened") =>
        new(state, Author, "alice", authorIsBot, botAssigned, labelOn, "main", 42, "https://gitlab.example/mesa/mesa/-/merge_requests/5");

    private static MergeRequestWorkflow State(params IWorkflowEvent[] events) => WorkflowEvolver.Fold(events);

    private static IWorkflowEvent[] RefusedBy(TriggerKind trigger, string reason, string? advice = null) =>
    [
        new MergeRequested(1, "bob", At(0), new Requester(trigger, "bob", Asker)),
        new RequestRefused(1, new Requester(trigger, "bob", Asker), reason, At(1), advice),
    ];

    [Fact]
    public void Given_a_failed_attempt_When_it_ends_Then_the_author_gets_the_mr_back_and_the_note_links_our_failed_pipeline()
    {
        var failed = State([.. Verifying[..^1], new PipelineObserved(1, Pipeline, "failed", At(30)), new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(30))]);
        var actions = Outcomes.For(failed, Mr(), Policy);
        Assert.Equal([Author], actions.AssignTo);
        Assert.False(actions.UnassignBot);
        Assert.StartsWith("I couldn't merge this merge request: CI failed! See pipeline 4711: https://gitlab.example/mesa/mesa/-/pipelines/4711", actions.Note);
    }

    [Fact]
    public void Given_a_failed_attempt_on_an_mr_the_bot_wrote_When_it_ends_Then_it_goes_to_whoever_asked()
    {
        var failed = State(new MergeRequested(1, "bob", At(0), Requester.Person(TriggerKind.Assignment, "bob", Asker)),
            new AttemptFailed(1, WorkflowState.Queued, "CI failed!", At(5)));
        Assert.Equal([Asker], Outcomes.For(failed, Mr(authorIsBot: true), Policy).AssignTo);
        // No person behind the request: nobody keeps the bot.
        var byToken = Outcomes.For(State(Failed), Mr(authorIsBot: true), Policy);
        Assert.Equal((true, null), (byToken.UnassignBot, byToken.AssignTo));
    }

    [Fact]
    public void Given_a_failed_attempt_on_a_closed_mr_When_it_ends_Then_nobody_is_reassigned()
    {
        var actions = Outcomes.For(State(Failed), Mr(state: "closed"), Policy);
        Assert.Equal((false, null), (actions.UnassignBot, actions.AssignTo));
        Assert.NotNull(actions.Note);
    }

    [Theory]
    [InlineData(true, false, true, "unassigned myself and removed the ~\"merge-me\" label")]
    [InlineData(false, false, true, "removed the ~\"merge-me\" label")]
    [InlineData(true, false, false, "unassigned myself")]
    public void Given_a_refused_assignment_When_it_ends_Then_each_trigger_on_the_mr_is_taken_back_and_the_note_says_which(
        bool botAssigned, bool authorIsBot, bool labelOn, string undone)
    {
        var actions = Outcomes.For(State(RefusedBy(TriggerKind.Assignment, "the requester is a Reporter")), Mr(authorIsBot, botAssigned, labelOn), Policy);
        Assert.Equal((botAssigned, labelOn ? "merge-me" : null), (actions.UnassignBot, actions.RemoveLabel));
        Assert.Equal($"@bob, I can't merge this merge request for you: the requester is a Reporter. I have {undone}. " +
            "Only someone who may merge into `main` can ask me to merge it: ask one of them.", actions.Note);
    }

    [Theory]
    [InlineData(true, true, " I have unassigned myself and removed the ~\"merge-me\" label.")]
    [InlineData(true, false, " I have unassigned myself.")]
    [InlineData(false, true, " I have removed the ~\"merge-me\" label.")]
    [InlineData(false, false, "")]
    public void Given_a_cancelled_attempt_on_an_open_mr_When_it_ends_Then_no_trigger_is_left_to_make_it_look_queued(
        bool botAssigned, bool labelOn, string undone)
    {
        var actions = Outcomes.For(State(Cancelled), Mr(botAssigned: botAssigned, labelOn: labelOn), Policy);
        Assert.Equal((botAssigned, labelOn ? "merge-me" : null, null), (actions.UnassignBot, actions.RemoveLabel, actions.AssignTo));
        Assert.Equal("Merge cancelled: cancelled by api: no longer wanted." + undone, actions.Note);
    }

    [Fact]
    public void Given_a_cancelled_attempt_on_a_closed_mr_When_it_ends_Then_its_assignees_and_labels_are_left_alone()
    {
        var actions = Outcomes.For(State(Cancelled), Mr(labelOn: true, state: "closed"), Policy);
        Assert.Equal((false, null, null), (actions.UnassignBot, actions.RemoveLabel, actions.AssignTo));
    }

    [Theory]
    [InlineData(TriggerKind.Api)]
    [InlineData(TriggerKind.Note)]
    public void Given_a_refused_request_that_left_nothing_on_the_mr_When_it_ends_Then_nothing_is_taken_back(TriggerKind trigger)
    {
        var actions = Outcomes.For(State(RefusedBy(trigger, "x")), Mr(labelOn: true), Policy);
        Assert.Equal((false, null, null), (actions.UnassignBot, actions.AssignTo, actions.RemoveLabel));
    }

    [Fact]
    public void Given_a_note_command_from_someone_unlisted_When_refused_Then_the_advice_is_the_decider_s_not_a_guess_from_the_words()
    {
        var recorded = State(RefusedBy(TriggerKind.Note, "merge commands by note are limited to @carol in this project", Outcomes.CommandAdvice));
        Assert.EndsWith(Outcomes.CommandAdvice, Outcomes.For(recorded, Mr(), Policy).Note);
        // A stream recorded before refusals carried advice is brought up to date when it is read.
        var legacy = State(RefusedBy(TriggerKind.Note, "this project takes no merge commands by note"));
        Assert.EndsWith(Outcomes.CommandAdvice, Outcomes.For(legacy, Mr(), Policy).Note);
    }

    [Theory]
    [InlineData(true, false, true, false)]
    [InlineData(false, true, false, true)]
    public void Given_a_merge_When_it_ends_Then_the_policy_says_whether_to_note_it_and_to_unassign(bool noteOnSuccess, bool unassignOnMerge,
        bool noted, bool unassigned)
    {
        var actions = Outcomes.For(State(Completed), Mr(), Policy with { NoteOnSuccess = noteOnSuccess, UnassignOnMerge = unassignOnMerge });
        Assert.Equal((noted, unassigned, null), (actions.Note is not null, actions.UnassignBot, actions.AssignTo));
        if (noted) Assert.StartsWith("Merged as d4d4d4: pipeline 4711 passed on the rebased commit", actions.Note);
    }

    [Fact]
    public void Given_an_mr_merged_by_someone_else_before_the_bot_acted_When_it_ends_Then_the_note_says_there_was_nothing_to_do() =>
        Assert.Equal("This merge request was already merged by @carol, so there was nothing for me to do.",
            Outcomes.For(State([.. Queued, new MergedElsewhere(1, null, "carol", At(2))]), Mr(), Policy).Note);

    private static TrainCarAssigned Car(string car, long[] ahead, string? onto, string reason, int at) =>
        new(1, new TrainSeat("main", car, ahead, onto, false), "t0", onto, reason, null, At(at));

    [Fact]
    public void Given_a_car_rebuilt_once_When_it_lands_Then_the_note_says_which_car_on_top_of_what_and_why_it_was_rebuilt()
    {
        IWorkflowEvent[] ride =
        [
            Car("car-3", [1, 2], "b2", "car 3 of the merge train of `main`", 1),
            Car("car-5", [1], "b1", TrainCar.RebuiltPrefix + "!2 left the train: its pipeline failed", 2),
        ];
        var landed = State([.. Completed[..1], .. ride, .. Completed[1..]]);

        var note = Outcomes.For(landed, Mr(), Policy with { NoteOnSuccess = true }).Note;

        Assert.EndsWith("It rode car 2 of the merge train of `main`, tested on top of !1. Its car was rebuilt once, last because " +
                        "!2 left the train: its pipeline failed.", note);
    }

    [Fact]
    public void Given_a_car_whose_first_base_arrives_When_it_fails_Then_the_note_names_the_car_and_counts_no_rebuild()
    {
        // Waiting for the car ahead's head, then getting it, is the first base, not a rebuild.
        IWorkflowEvent[] ride = [Car("car-2", [1], null, "car 2", 1), Car("car-2", [1], "b1", "the car ahead pushed its head", 2)];
        var failed = State([.. Queued, .. ride, new AttemptFailed(1, WorkflowState.Building, "CI failed! (car 2 of the merge train of `main`: its pipeline failed)", At(9))]);

        var note = Outcomes.For(failed, Mr(), Policy).Note!;

        Assert.Contains("It rode car 2 of the merge train of `main`, tested on top of !1.\n", note);
        Assert.DoesNotContain("rebuilt", note);
    }

    [Fact]
    public void Given_no_train_When_an_attempt_ends_Then_the_note_says_nothing_of_cars() =>
        Assert.DoesNotContain("car", Outcomes.For(State(Completed), Mr(), Policy with { NoteOnSuccess = true }).Note);

    [Fact]
    public void Given_a_merge_into_a_branch_other_than_main_When_noted_Then_the_tested_image_is_said_to_be_that_branch_s()
    {
        var merged = State(Completed) with { Promotions = [], TargetBranch = "release/26.0" };

        var note = Outcomes.For(merged, Mr(), Policy with { NoteOnSuccess = true }).Note!;

        Assert.Contains($"Tested on, and now `release/26.0`'s: {BuiltBuildImage.Name}:{BuiltBuildImage.Tag}@{Digest}", note);
        Assert.DoesNotContain("main's", note);
    }
}
