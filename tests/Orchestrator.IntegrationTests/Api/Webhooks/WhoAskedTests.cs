using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Api.Webhooks;
using Orchestrator.Api.Webhooks.Payloads;
using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.IntegrationTests.Api.Webhooks;

/// <summary>
/// Who made a hook ask the bot to merge, from GitLab's documented payloads as the reader types them: only the hook
/// that shows the trigger happening names an actor. Pure: no server, no database.
/// </summary>
public sealed class WhoAskedTests
{
    private const string Bot = "marge-bot";
    private const string Label = "merge-me";
    private static readonly JsonObject Alice = new() { ["id"] = 21, ["username"] = "alice" };
    private static readonly JsonObject BotUser = new() { ["id"] = 99, ["username"] = Bot };

    /// <summary>The documented event (consistent ids), done by alice (21), the MR authored by 51, no bot, no label.</summary>
    private static JsonObject Event(string action)
    {
        var e = WebhookFixtures.Consistent("merge_request.open.json");
        e["user"] = Alice.DeepClone();
        e["object_attributes"]!["action"] = action;
        e["assignees"] = new JsonArray();
        e["labels"] = new JsonArray();
        e["changes"] = new JsonObject();
        return e;
    }

    private static JsonObject Change(JsonNode previous, JsonNode current) => new() { ["previous"] = previous, ["current"] = current };

    private static MergeRequestIntent Intent(JsonObject payload)
    {
        using var document = JsonDocument.Parse(payload.ToJsonString());
        var (hook, error) = HookPayloads.Read(HookPayloads.MergeRequest, document.RootElement);
        Assert.Null(error);
        return WhoAsked.FromMergeRequest((MergeRequestHook)hook!, Bot, Label);
    }

    [Fact]
    public void Given_an_update_whose_changes_add_the_bot_When_read_Then_the_hook_user_asked_by_assignment()
    {
        var e = Event("update");
        e["assignees"] = new JsonArray(BotUser.DeepClone());
        e["changes"]!["assignees"] = Change(new JsonArray(), new JsonArray(BotUser.DeepClone()));

        Assert.Equal(new MergeRequestIntent.Merge(Requester.Person(TriggerKind.Assignment, "alice", 21)), Intent(e));
    }

    [Fact]
    public void Given_an_update_whose_changes_add_the_trigger_label_When_read_Then_the_hook_user_asked_by_label()
    {
        var e = Event("update");
        e["labels"] = new JsonArray(new JsonObject { ["title"] = Label });
        e["changes"]!["labels"] = Change(new JsonArray(new JsonObject { ["title"] = "API" }),
            new JsonArray(new JsonObject { ["title"] = "API" }, new JsonObject { ["title"] = Label }));

        Assert.Equal(new MergeRequestIntent.Merge(Requester.Person(TriggerKind.Label, "alice", 21)), Intent(e));
    }

    [Fact]
    public void Given_an_update_whose_changes_remove_the_trigger_label_When_read_Then_the_hook_user_stops_the_merge()
    {
        var e = Event("update");
        e["labels"] = new JsonArray(new JsonObject { ["title"] = "API" });
        e["changes"]!["labels"] = Change(new JsonArray(new JsonObject { ["title"] = "API" }, new JsonObject { ["title"] = Label }),
            new JsonArray(new JsonObject { ["title"] = "API" }));

        Assert.Equal(new MergeRequestIntent.Stop("alice", $"removed the label {Label}"), Intent(e));
    }

    [Fact]
    public void Given_an_open_with_the_bot_already_assigned_When_read_Then_the_author_asked_and_is_named_when_they_are_the_hook_user()
    {
        var byOther = Event("open");
        byOther["assignees"] = new JsonArray(BotUser.DeepClone());
        Assert.Equal(new MergeRequestIntent.Merge(new Requester(TriggerKind.Assignment, null, 51)), Intent(byOther));

        var byAuthor = Event("open");
        byAuthor["assignees"] = new JsonArray(BotUser.DeepClone());
        byAuthor["object_attributes"]!["author_id"] = 21;
        Assert.Equal(new MergeRequestIntent.Merge(Requester.Person(TriggerKind.Assignment, "alice", 21)), Intent(byAuthor));
    }

    [Fact]
    public void Given_an_open_with_the_trigger_label_When_read_Then_the_author_asked_by_label()
    {
        var e = Event("open");
        e["labels"] = new JsonArray(new JsonObject { ["title"] = Label });

        Assert.Equal(new MergeRequestIntent.Merge(new Requester(TriggerKind.Label, null, 51)), Intent(e));
    }

    [Theory]
    [InlineData("update")]
    [InlineData("reopen")]
    [InlineData("approved")]
    [InlineData("close")]
    [InlineData("merge")]
    public void Given_the_bot_and_label_already_set_When_another_hook_comes_Then_no_one_asked(string action)
    {
        var e = Event(action);
        e["assignees"] = new JsonArray(BotUser.DeepClone());
        e["labels"] = new JsonArray(new JsonObject { ["title"] = Label });
        // A push (update with oldrev), an edit of the title: changes that are not the trigger.
        e["object_attributes"]!["oldrev"] = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
        e["changes"]!["title"] = Change("old", "new");

        Assert.IsType<MergeRequestIntent.Look>(Intent(e));
    }

    [Theory]
    [InlineData("close")]
    [InlineData("merge")]
    public void Given_the_bot_assigned_in_a_close_or_merge_hook_When_read_Then_no_one_asked(string action)
    {
        var e = Event(action);
        e["changes"]!["assignees"] = Change(new JsonArray(), new JsonArray(BotUser.DeepClone()));

        Assert.IsType<MergeRequestIntent.Look>(Intent(e));
    }

    [Fact]
    public void Given_changes_that_remove_the_bot_When_read_Then_the_hook_user_stops_it()
    {
        var e = Event("update");
        e["changes"]!["assignees"] = Change(new JsonArray(BotUser.DeepClone(), Alice.DeepClone()), new JsonArray(Alice.DeepClone()));

        Assert.Equal(new MergeRequestIntent.Stop("alice", $"unassigned {Bot}"), Intent(e));
    }

    private static Requester? FromNote(string note, long? authorId = 1)
    {
        var payload = WebhookFixtures.Consistent("note.merge_request.json");
        payload["object_attributes"]!["note"] = note;
        payload["object_attributes"]!["author_id"] = authorId;
        using var document = JsonDocument.Parse(payload.ToJsonString());
        var (hook, error) = HookPayloads.Read(HookPayloads.Note, document.RootElement);
        Assert.Null(error);
        return WhoAsked.FromNote((NoteHook)hook!, Bot);
    }

    [Fact]
    public void Given_GitLab_s_documented_hooks_When_read_Then_the_head_the_person_saw_is_the_last_commit_they_carry()
    {
        T Read<T>(string kind, JsonObject payload) where T : class
        {
            using var document = JsonDocument.Parse(payload.ToJsonString());
            var (hook, error) = HookPayloads.Read(kind, document.RootElement);
            Assert.Null(error);
            return Assert.IsType<T>(hook);
        }

        Assert.Equal("da1560886d4f094c3e6c9ef40349f7d38b5d27d7", Read<MergeRequestHook>(HookPayloads.MergeRequest, Event("update")).LastCommit);
        Assert.Equal("562e173be03b8ff2efb05345d12df18815438a4b",
            Read<NoteHook>(HookPayloads.Note, WebhookFixtures.Consistent("note.merge_request.json")).MergeRequest!.LastCommit);
        var without = Event("update");
        ((JsonObject)without["object_attributes"]!).Remove("last_commit");
        Assert.Null(Read<MergeRequestHook>(HookPayloads.MergeRequest, without).LastCommit);
    }

    [Fact]
    public void Given_a_merge_note_When_read_Then_its_author_asked_by_note()
    {
        Assert.Equal(Requester.Person(TriggerKind.Note, "root", 1), FromNote("/merge"));
        Assert.Equal(Requester.Person(TriggerKind.Note, "root", 1), FromNote($"  @{Bot} merge please"));
    }

    [Theory]
    [InlineData("This MR needs work.", 1L)]
    [InlineData("/mergeable?", 1L)]
    [InlineData("please /merge", 1L)]
    [InlineData("/merge", 8L)]
    public void Given_a_note_that_is_no_command_or_not_sent_by_its_author_When_read_Then_no_one_asked(string note, long author) =>
        Assert.Null(FromNote(note, author));
}
