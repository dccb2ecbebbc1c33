using System.Net.Http.Json;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// The bot rewrites a source branch (rebases it) only for a requester who could have: the black-box finding, end to
/// end on the sandbox's webhooks. t8 is protected (Maintainers push, no force push); t5 is unprotected, so bob (a
/// Developer) may merge into it, but not rebase t8.
/// </summary>
public sealed class SourceBranchBoundsTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_bob_may_merge_into_t5_but_not_push_to_the_protected_t8_When_he_assigns_the_bot_Then_t8_is_not_rewritten_and_the_note_says_why()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "t8",
            h => WorkflowHarness.IncidentPolicy(h.UpstreamPath, triggerLabel: "merge-me", commanders: ["developer"]));
        var h = host.Harness;
        var maintainer = h.As("maintainer");
        var bob = h.As("bob");
        var bobName = h.Seed["users"]!["bob"]!["username"]!.GetValue<string>();
        var branches = $"projects/{h.Upstream}/repository/branches";
        var rules = $"projects/{h.Upstream}/protected_branches";
        (await maintainer.PostAsJsonAsync(branches, new { branch = "t5", @ref = "main" })).EnsureSuccessStatusCode();
        var t8Head = await h.CommitAsync(maintainer, h.Upstream, "t8", "Maintainers' work", [new FileChange("create", "t8.md", "t8\n")], startBranch: "main");
        (await maintainer.PostAsJsonAsync(rules, new { name = "t8", push_access_level = 40, merge_access_level = 40, allow_force_push = false })).EnsureSuccessStatusCode();
        // t5 moves on, so the merge request needs a rebase of t8.
        await h.CommitAsync(maintainer, h.Upstream, "t5", "Ahead", [new FileChange("create", "t5.md", "t5\n")]);
        using var opened = await bob.PostAsJsonAsync($"projects/{h.Upstream}/merge_requests", new { source_branch = "t8", target_branch = "t5", title = "t8 into t5" });
        opened.EnsureSuccessStatusCode();
        var iid = (await opened.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonNode>())!["iid"]!.GetValue<long>();
        var mr = $"projects/{h.Upstream}/merge_requests/{iid}";

        (await bob.PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        var refused = await host.WaitForOutcome(iid, 1);

        Assert.Equal((WorkflowState.Refused, bobName), (refused.State, refused.Requester!.Username));
        Assert.Equal(t8Head, (await h.Get(maintainer, $"{branches}/t8"))["commit"]!["id"]!.GetValue<string>());
        Assert.DoesNotContain((await host.Grain(iid).GetEvents()).Select(e => e.Type), t => t is "rebase_started" or "rewrite_planned" or "merged");
        var note = Assert.Single(await h.NotesAsync(iid), n => n.StartsWith($"@{bobName}, I can't merge this merge request for you"));
        Assert.Contains("source branch t8 is protected", note);
        Assert.Contains(MergePermission.RewriteAdvice, note);

        // The other way: t8 now lets Maintainers force push, and a maintainer asks; the bot rebases it and merges.
        (await maintainer.DeleteAsync($"{rules}/t8")).EnsureSuccessStatusCode();
        (await maintainer.PostAsJsonAsync(rules, new { name = "t8", push_access_level = 40, merge_access_level = 40, allow_force_push = true })).EnsureSuccessStatusCode();
        (await maintainer.PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        var merged = await host.WaitForOutcome(iid, 2, TimeSpan.FromSeconds(180));
        Assert.Equal(WorkflowState.Completed, merged.State);
        Assert.Equal("merged", (await h.Get(maintainer, mr))["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_a_fork_MR_not_open_to_collaboration_but_the_bot_a_member_of_the_fork_When_a_maintainer_assigns_the_bot_Then_the_fork_branch_is_not_rewritten()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "nocollab", h => WorkflowHarness.IncidentPolicy(h.UpstreamPath));
        var h = host.Harness;
        var alice = h.As("alice");
        var maintainer = h.As("maintainer");
        var mr = $"projects/{h.Upstream}/merge_requests/{h.MrA}";
        // GitLab would let the bot push to alice's branch (it is a Maintainer of her fork), though her MR shuts the
        // target's members out: the bot's own rights there are no reason to rewrite it for the maintainer.
        (await alice.PostAsJsonAsync($"projects/{h.Fork}/members", new { user_id = host.BotId, access_level = 40 })).EnsureSuccessStatusCode();
        (await alice.PutAsJsonAsync(mr, new { allow_collaboration = false })).EnsureSuccessStatusCode();
        var forkHead = (await h.Get(alice, $"projects/{h.Fork}/repository/branches/a-new-tool"))["commit"]!["id"]!.GetValue<string>();

        (await maintainer.PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        var refused = await host.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Refused, refused.State);
        Assert.Equal(forkHead, (await h.Get(alice, $"projects/{h.Fork}/repository/branches/a-new-tool"))["commit"]!["id"]!.GetValue<string>());
        var events = await host.Grain(h.MrA).GetEvents();
        Assert.DoesNotContain(events.Select(e => e.Type), t => t is "rebase_started" or "rewrite_planned" or "merged");
        // The observation the refusal was decided from is recorded, so replay judges it again.
        var check = Assert.Single(events, e => e.Type == "permission_checked");
        Assert.Contains("\"allowCollaboration\":false", check.Data.Replace(" ", ""), StringComparison.OrdinalIgnoreCase);
        var note = Assert.Single(await h.NotesAsync(h.MrA), n => n.Contains("I can't merge this merge request for you"));
        Assert.Contains("allow_collaboration", note);
    }
}
