using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>marge-bot's habits where a project wants them: no note on success, unassigned after the merge, failures handed to a human.</summary>
public sealed class MargeHabitsTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private static long Id(WorkflowHarness h, string who) => h.Seed["users"]![who]!["id"]!.GetValue<long>();

    [Fact]
    public async Task Given_a_project_that_wants_no_note_and_no_bot_after_a_merge_When_an_assigned_mr_merges_Then_neither_remains()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "quiet");
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with { NoteOnSuccess = false, UnassignOnMerge = true });
        var iid = await h.OpenMrAsync("quiet", "Quiet", new FileChange("create", "quiet.txt", "q\n"));
        (await h.As("maintainer").PutAsJsonAsync($"projects/{h.Upstream}/merge_requests/{iid}", new { assignee_ids = new[] { Id(h, "bot"), Id(h, "bob") } }))
            .EnsureSuccessStatusCode();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        Assert.Equal(0, s.OutcomeNoteId);
        var mr = await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}");
        Assert.Equal([Id(h, "bob")], mr["assignees"]!.AsArray().Select(a => a!["id"]!.GetValue<long>()));
        var notes = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}/notes")).AsArray();
        Assert.DoesNotContain(notes, n => n!["body"]!.GetValue<string>().Contains("<!-- orchestrator "));
    }

    [Fact]
    public async Task Given_an_mr_the_bot_wrote_When_its_attempt_fails_Then_it_is_handed_to_the_person_who_asked()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "botmr");
        var bot = h.As("bot");
        var change = new FileChange("update", "README.md", "# mesa\nalready there\n");
        await h.CommitAsync(bot, h.Upstream, "bot-change", "A change the bot wrote", [change], startBranch: "main");
        using var created = await bot.PostAsJsonAsync($"projects/{h.Upstream}/merge_requests", new { source_branch = "bot-change", target_branch = "main", title = "Bot's MR" });
        var iid = (await created.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonNode>())!["iid"]!.GetValue<long>();
        // The same change lands on main first: the attempt fails with nothing to merge.
        await h.CommitAsync(h.As("maintainer"), h.Upstream, "main", "the same change, directly", [change]);

        var maintainer = h.Seed["users"]!["maintainer"]!;
        await h.Grain(iid).Enqueue(Requester.ApiUser(maintainer["username"]!.GetValue<string>(), Id(h, "maintainer")));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        var mr = await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}");
        Assert.Equal([Id(h, "maintainer")], mr["assignees"]!.AsArray().Select(a => a!["id"]!.GetValue<long>()));
    }
}
