using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Who may assign and label an MR, and what GitLab records when they do: system notes, label events, hooks.</summary>
public sealed class MergeRequestTrustTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const int NotAMember = 0, Guest = 10, Reporter = 20, Developer = 30;

    private static async Task<JsonNode> Hook(World w, string url) =>
        await w.Maintainer.Post($"projects/{w.Upstream.Long("id")}/hooks", new { url, merge_requests_events = true, note_events = true });

    private static IReadOnlyList<ReceivedHook> MergeRequestHooks(HookReceiver receiver, string action) =>
        [.. receiver.Received.Where(h => h.Event == "Merge Request Hook" && h.Body["object_attributes"]!.Str("action") == action)];

    [Theory]
    [InlineData(NotAMember)]
    [InlineData(Guest)]
    [InlineData(Reporter)]
    public async Task Given_a_fork_author_below_developer_When_assigning_and_labelling_Then_gitlab_drops_it_silently_without_hook_or_note(int role)
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, $"drop{role}");
        var id = w.Upstream.Long("id");
        var contributor = await w.Contributor.Get("user");
        if (role != NotAMember)
            await w.Maintainer.Post($"projects/{id}/members", new { user_id = contributor.Long("id"), access_level = role });
        await Hook(w, receiver.Url);
        await w.Contributor.Post($"projects/{w.Fork.Long("id")}/repository/commits", World.Commit("tag", "tag", "t.txt", "t\n", startBranch: "main"));
        var me = new[] { contributor.Long("id") };

        var created = await w.Contributor.Post($"projects/{w.Fork.Long("id")}/merge_requests", new
        {
            source_branch = "tag", target_branch = "main", title = "Bump", target_project_id = id, labels = "ci", assignee_ids = me, reviewer_ids = me,
        });
        var path = $"projects/{id}/merge_requests/{created.Long("iid")}";
        var assigned = await w.Contributor.Put(path, new { assignee_ids = me, add_labels = "urgent", reviewer_ids = me });
        var retitled = await w.Contributor.Put(path, new { title = "Bump the tag", labels = "ci" });
        await receiver.WaitFor(h => h.Event == "Merge Request Hook" && h.Body["object_attributes"]!.Str("title") == "Bump the tag");

        foreach (var mr in new[] { created, assigned, retitled })
        {
            Assert.Empty(mr["labels"]!.AsArray());
            Assert.Empty(mr["assignees"]!.AsArray());
            Assert.Empty(mr["reviewers"]!.AsArray());
        }
        Assert.Equal("Bump the tag", retitled.Str("title"));
        // Only the title change reached the hook: the dropped update saved nothing.
        var update = Assert.Single(MergeRequestHooks(receiver, "update"));
        Assert.False(update.Body["changes"]!.AsObject().ContainsKey("labels"));
        Assert.Empty(Assert.Single(MergeRequestHooks(receiver, "open")).Body["assignees"]!.AsArray());
        Assert.Empty((await w.Maintainer.Get($"{path}/notes")).AsArray());
        Assert.Empty((await w.Maintainer.Get($"{path}/resource_label_events")).AsArray());
    }

    [Fact]
    public async Task Given_assignment_changes_When_a_maintainer_reassigns_Then_system_notes_say_so_in_gitlabs_words_by_the_actor_and_none_at_creation()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "assign1");
        var id = w.Upstream.Long("id");
        var (_, a) = await w.Member("a", Developer);
        var (_, b) = await w.Member("b", Developer);
        var (_, c) = await w.Member("c", Reporter);
        await Hook(w, receiver.Url);
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "topic", "t.txt", "t\n", startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new
        {
            source_branch = "topic", target_branch = "main", title = "Topic", assignee_ids = new[] { a.Long("id") },
        });
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}";
        var atCreation = await w.Maintainer.Get($"{path}/notes");

        await w.Maintainer.Put(path, new { assignee_ids = new[] { b.Long("id"), c.Long("id") } });
        await w.Maintainer.Put(path, new { assignee_ids = Array.Empty<long>() });
        await w.Maintainer.Put(path, new { assignee_ids = new[] { a.Long("id"), b.Long("id"), c.Long("id") } });
        var notes = (await w.Maintainer.Get($"{path}/notes?sort=asc")).AsArray();
        var reassigned = await receiver.WaitFor(h => h.Event == "Merge Request Hook" && h.Body["changes"]?["assignees"] is not null);

        Assert.Empty(atCreation.AsArray());
        Assert.Equal(
            [
                $"assigned to @{b.Str("username")} and @{c.Str("username")} and unassigned @{a.Str("username")}",
                $"unassigned @{b.Str("username")} and @{c.Str("username")}",
                $"assigned to @{a.Str("username")}, @{b.Str("username")}, and @{c.Str("username")}",
            ],
            notes.Select(n => n!.Str("body")));
        Assert.All(notes, n =>
        {
            Assert.True(n!["system"]!.GetValue<bool>());
            Assert.Equal(w.MaintainerName, n["author"]!.Str("username"));
        });
        Assert.Equal(w.MaintainerName, reassigned.Body["user"]!.Str("username"));
        var change = reassigned.Body["changes"]!["assignees"]!;
        Assert.Equal([a.Str("username")], change["previous"]!.AsArray().Select(u => u!.Str("username")));
        Assert.Equal([b.Str("username"), c.Str("username")], change["current"]!.AsArray().Select(u => u!.Str("username")));
        Assert.Equal(["id", "name", "username", "avatar_url", "email"], change["current"]![0]!.AsObject().Select(p => p.Key));
        Assert.Equal([b.Str("username"), c.Str("username")], reassigned.Body["assignees"]!.AsArray().Select(u => u!.Str("username")));
    }

    [Fact]
    public async Task Given_label_changes_When_added_and_removed_Then_resource_label_events_record_each_with_its_user_and_no_note()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "labels1");
        var id = w.Upstream.Long("id");
        var (developer, dev) = await w.Member("dev", Developer);
        await Hook(w, receiver.Url);
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "topic", "t.txt", "t\n", startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "Topic", labels = "ci" });
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}";

        await developer.Put(path, new { add_labels = "images" });
        var removed = await developer.Put(path, new { remove_labels = "ci" });
        var events = (await w.Maintainer.Get($"{path}/resource_label_events")).AsArray();
        var hook = await receiver.WaitFor(h => h.Event == "Merge Request Hook"
            && h.Body["changes"]?["labels"]?["previous"]?.AsArray().Count == 2);

        Assert.Equal(["images"], removed["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(
            [("add", "ci", w.MaintainerName), ("add", "images", dev.Str("username")), ("remove", "ci", dev.Str("username"))],
            events.Select(e => (e!.Str("action"), e!["label"]!.Str("name"), e!["user"]!.Str("username"))));
        Assert.Empty((await w.Maintainer.Get($"{path}/notes")).AsArray());
        Assert.Equal(["ci", "images"], hook.Body["changes"]!["labels"]!["previous"]!.AsArray().Select(l => l!.Str("title")));
        Assert.Equal(["images"], hook.Body["changes"]!["labels"]!["current"]!.AsArray().Select(l => l!.Str("title")));
        Assert.Equal(["images"], hook.Body["labels"]!.AsArray().Select(l => l!.Str("title")));
        Assert.Equal(dev.Str("username"), hook.Body["user"]!.Str("username"));
        Assert.Equal(events[1]!["label"]!.Long("id"), hook.Body["labels"]![0]!.Long("id"));
    }

    [Fact]
    public async Task Given_more_notes_than_a_page_When_listed_Then_gitlabs_pagination_headers_lead_through_the_pages()
    {
        var w = await World.CreateAsync(host, "notes1");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "topic", "t.txt", "t\n", startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "Topic" });
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}/notes";
        for (var i = 1; i <= 5; i++) await w.Contributor.Post(path, new { body = $"note {i}" });

        var bodies = new List<string>();
        var page = "1";
        var pages = 0;
        while (page.Length > 0)
        {
            var (items, headers) = await w.Maintainer.Page($"{path}?sort=asc&per_page=2&page={page}");
            Assert.Equal(("5", "3", "2"), (headers["x-total"], headers["x-total-pages"], headers["x-per-page"]));
            bodies.AddRange(items.Select(n => n!.Str("body")));
            page = headers.GetValueOrDefault("x-next-page", "");
            pages++;
        }
        var (_, capped) = await w.Maintainer.Page($"{path}?per_page=500");

        Assert.Equal(3, pages);
        Assert.Equal(["note 1", "note 2", "note 3", "note 4", "note 5"], bodies);
        Assert.Equal("100", capped["x-per-page"]);
    }
}
