using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.Tests.Domain;

/// <summary>Who put a merge request in the bot's hands, read from GitLab's system notes and label events.</summary>
public sealed class TriggerHistoryTests
{
    private const string Bot = "marge-bot";

    private static HistoryNote System(string body, string author, long id) => new(body, author, id, true);

    [Theory]
    [InlineData("assigned to @marge-bot", new[] { "marge-bot" }, new string[0])]
    [InlineData("assigned to @a and @marge-bot", new[] { "a", "marge-bot" }, new string[0])]
    [InlineData("assigned to @a, @b, and @marge-bot and unassigned @c", new[] { "a", "b", "marge-bot" }, new[] { "c" })]
    [InlineData("unassigned @marge-bot and @c", new string[0], new[] { "marge-bot", "c" })]
    [InlineData("assigned to @marge-bot2", new[] { "marge-bot2" }, new string[0])]
    [InlineData("changed the description", new string[0], new string[0])]
    public void Given_GitLabs_assignee_wording_When_parsed_Then_added_and_removed_users_are_told_apart(string body, string[] added, string[] removed)
    {
        var parsed = TriggerHistory.Parse(body);
        Assert.Equal(added, parsed.Added);
        Assert.Equal(removed, parsed.Removed);
    }

    [Fact]
    public void Given_several_assignments_When_read_Then_the_latest_assigner_after_the_last_unassignment_is_the_actor()
    {
        var notes = new[]
        {
            System("assigned to @marge-bot", "maint", 1),
            System("unassigned @marge-bot", "maint", 1),
            System("assigned to @dev and @marge-bot and unassigned @other", "dev", 2),
            System("assigned to @someone", "maint", 1),
        };
        var actor = TriggerHistory.Assigner(notes, Bot, "author", 9);
        Assert.Equal(("dev", 2L, TriggerKind.ReconciledAssignment), (actor!.Username, actor.UserId!.Value, actor.Trigger));
    }

    [Fact]
    public void Given_no_note_names_the_bot_When_read_Then_the_author_assigned_it_at_creation()
    {
        var actor = TriggerHistory.Assigner([System("assigned to @someone", "maint", 1)], Bot, "author", 9);
        Assert.Equal(("author", 9L), (actor!.Username, actor.UserId!.Value));
    }

    [Fact]
    public void Given_a_user_comment_that_imitates_a_system_note_When_read_Then_it_is_ignored()
    {
        var notes = new[] { System("assigned to @marge-bot", "dev", 2), new HistoryNote("assigned to @marge-bot", "mallory", 3, false) };
        Assert.Equal("dev", TriggerHistory.Assigner(notes, Bot, "author", 9)!.Username);
    }

    [Fact]
    public void Given_the_latest_note_unassigned_the_bot_or_names_no_one_When_read_Then_no_one_is_named()
    {
        Assert.Null(TriggerHistory.Assigner([System("assigned to @marge-bot", "dev", 2), System("unassigned @marge-bot", "dev", 2)], Bot, "author", 9));
        Assert.Null(TriggerHistory.Assigner([System("assigned to @marge-bot", "dev", 2), System("removed assignee", "dev", 2)], Bot, "author", 9));
    }

    [Fact]
    public void Given_label_events_When_read_Then_the_user_of_the_latest_add_is_the_actor()
    {
        var events = new[]
        {
            new LabelEvent("merge", "add", "maint", 1), new LabelEvent("merge", "remove", "maint", 1),
            new LabelEvent("merge", "add", "dev", 2), new LabelEvent("other", "add", "x", 3),
        };
        Assert.Equal("dev", TriggerHistory.Labeller(events, "merge")!.Username);
        Assert.Null(TriggerHistory.Labeller(events, "absent"));
        Assert.Null(TriggerHistory.Labeller([new LabelEvent(null, "add", "x", 3)], "merge"));
    }

    [Fact]
    public void Given_an_ended_attempt_When_the_bot_was_assigned_again_after_it_Then_reconciliation_asks_again_and_not_for_an_older_assignment()
    {
        var t0 = new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);
        HistoryNote[] notes =
        [
            new("assigned to @marge-bot", "maintainer", 7, true, t0),
            new("unassigned @marge-bot", "marge-bot", 9, true, t0.AddMinutes(10)),
            new("assigned to @marge-bot", "maintainer", 7, true, t0.AddMinutes(20)),
        ];
        var ended = MergeRequestWorkflow.Initial with { Attempt = 1, State = WorkflowState.Refused, UpdatedAt = t0.AddMinutes(10) };

        Assert.Equal(t0.AddMinutes(20), TriggerHistory.AssignedAt(notes, "marge-bot"));
        Assert.True(TriggerHistory.AskedAgain(TriggerHistory.AssignedAt(notes, "marge-bot"), ended));
        // Assigned only before the attempt ended, or nothing recorded, or still running: not asked again.
        Assert.False(TriggerHistory.AskedAgain(TriggerHistory.AssignedAt(notes[..1], "marge-bot"), ended));
        Assert.False(TriggerHistory.AskedAgain(null, ended));
        Assert.False(TriggerHistory.AskedAgain(t0.AddMinutes(20), ended with { State = WorkflowState.Building }));
    }

    [Fact]
    public void Given_label_events_When_asked_when_the_label_was_last_added_Then_the_latest_add_counts()
    {
        var t0 = new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);
        LabelEvent[] events = [new("merge-me", "add", "a", 1, t0), new("merge-me", "remove", "b", 2, t0.AddMinutes(1)), new("merge-me", "add", "c", 3, t0.AddMinutes(2)), new("other", "add", "d", 4, t0.AddMinutes(3))];

        Assert.Equal(t0.AddMinutes(2), TriggerHistory.LabelledAt(events, "merge-me"));
        Assert.Null(TriggerHistory.LabelledAt(events[1..2], "merge-me"));
    }
}
