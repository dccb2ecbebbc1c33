using System.Net.Http.Json;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// Only those who may merge can make the bot merge, end to end: the real host fed by the sandbox's own webhooks, on a
/// project whose main only Maintainers may merge (bob is a Developer there, the bot a Maintainer).
/// </summary>
public sealed class TriggerAuthorizationTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private const string TriggerLabel = "merge-me";

    private static ProjectPolicy Policy(WorkflowHarness h) =>
        WorkflowHarness.IncidentPolicy(h.UpstreamPath, triggerLabel: TriggerLabel, commanders: ["developer"]);

    [Fact]
    public async Task Given_a_developer_When_they_assign_label_or_command_by_note_Then_each_is_refused_once_and_undone_and_a_maintainer_gets_it_merged()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "authz", Policy);
        var h = host.Harness;
        var bob = h.As("bob");
        var bobName = h.Seed["users"]!["bob"]!["username"]!.GetValue<string>();
        var iid = await h.OpenMrAsync("docs-authz", "Docs", new FileChange("update", "README.md", "# mesa\nauthz\n"));
        var mr = $"projects/{h.Upstream}/merge_requests/{iid}";

        // Assigned and labelled in one edit: one refusal, and both triggers taken back.
        (await bob.PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId }, add_labels = TriggerLabel })).EnsureSuccessStatusCode();
        var byAssignment = await host.WaitForOutcome(iid, 1);
        Assert.Equal((WorkflowState.Refused, TriggerKind.Assignment, bobName), (byAssignment.State, byAssignment.Requester!.Trigger, byAssignment.Requester.Username));
        await Eventually.True(async () => (await h.Get(bob, mr)) is var now && now["assignees"]!.AsArray().Count == 0 && now["labels"]!.AsArray().Count == 0,
            "the bot unassigned itself and removed the label");

        (await bob.PutAsJsonAsync(mr, new { add_labels = TriggerLabel })).EnsureSuccessStatusCode();
        var byLabel = await host.WaitForOutcome(iid, 2);
        Assert.Equal((WorkflowState.Refused, TriggerKind.Label), (byLabel.State, byLabel.Requester!.Trigger));
        await Eventually.True(async () => !(await h.Get(bob, mr))["labels"]!.AsArray().Any(l => l!.GetValue<string>() == TriggerLabel), "the label was removed");

        (await bob.PostAsJsonAsync($"{mr}/notes", new { body = "/merge" })).EnsureSuccessStatusCode();
        var byNote = await host.WaitForOutcome(iid, 3);
        Assert.Equal((WorkflowState.Refused, TriggerKind.Note), (byNote.State, byNote.Requester!.Trigger));

        // One note per refusal, addressed to bob, saying who may ask; nothing was built or merged for him.
        var notes = await BotNotes(host, iid);
        Assert.Equal(3, notes.Count);
        Assert.All(notes, n => Assert.StartsWith($"@{bobName}, I can't merge this merge request for you", n));
        Assert.All(notes, n => Assert.Contains("Maintainers may merge", n));
        Assert.DoesNotContain((await host.Grain(iid).GetEvents()).Select(e => e.Type), t => t is "rebase_started" or "pipeline_created" or "merged");
        Assert.Equal("opened", (await h.Get(bob, mr))["state"]!.GetValue<string>());

        // The same trigger from a maintainer goes through.
        (await h.As("maintainer").PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        var merged = await host.WaitForOutcome(iid, 4, TimeSpan.FromSeconds(180));
        Assert.Equal(WorkflowState.Completed, merged.State);
        Assert.Equal("merged", (await h.Get(bob, mr))["state"]!.GetValue<string>());
        var checks = (await host.Grain(iid).GetEvents()).Where(e => e.Type == "permission_checked").ToList();
        // Three refusals, then the fourth attempt checked before the queue, the pipeline and the merge (and the rebase, had one been needed).
        Assert.True(checks.Count >= 6, $"{checks.Count} permission checks recorded");
    }

    [Fact]
    public async Task Given_a_maintainer_When_they_label_command_by_note_or_call_the_API_as_themselves_Then_each_merges_and_the_API_acting_for_a_developer_is_refused()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "allowed", Policy);
        var h = host.Harness;
        var maintainer = h.As("maintainer");
        var maintainerName = h.Seed["users"]!["maintainer"]!["username"]!.GetValue<string>();
        string Mr(long iid) => $"projects/{h.Upstream}/merge_requests/{iid}";

        var byLabel = await h.OpenMrAsync("docs-label", "Docs by label", new FileChange("update", "README.md", "# mesa\nlabel\n"));
        (await maintainer.PutAsJsonAsync(Mr(byLabel), new { add_labels = TriggerLabel })).EnsureSuccessStatusCode();
        var labelled = await host.WaitForOutcome(byLabel, 1, TimeSpan.FromSeconds(120));
        Assert.Equal((WorkflowState.Completed, TriggerKind.Label, maintainerName), (labelled.State, labelled.Requester!.Trigger, labelled.Requester.Username));

        var byNote = await h.OpenMrAsync("docs-note", "Docs by note", new FileChange("create", "note.md", "note\n"));
        (await maintainer.PostAsJsonAsync($"{Mr(byNote)}/notes", new { body = $"@{h.Seed["users"]!["bot"]!["username"]} merge" })).EnsureSuccessStatusCode();
        var noted = await host.WaitForOutcome(byNote, 1, TimeSpan.FromSeconds(120));
        Assert.Equal((WorkflowState.Completed, TriggerKind.Note), (noted.State, noted.Requester!.Trigger));

        // The API token acting for bob (a Developer): refused with a note, nothing built; acting for the maintainer: merged.
        var byApi = await h.OpenMrAsync("docs-api", "Docs by API", new FileChange("create", "api.md", "api\n"));
        (await host.Api("bob").PostAsJsonAsync($"/api/v1/projects/{h.Upstream}/merge-requests/{byApi}/merge", new { requestedBy = "release tooling" })).EnsureSuccessStatusCode();
        var refused = await host.WaitForOutcome(byApi, 1);
        Assert.Equal((WorkflowState.Refused, TriggerKind.Api), (refused.State, refused.Requester!.Trigger));
        Assert.Single(await BotNotes(host, byApi));
        Assert.DoesNotContain((await host.Grain(byApi).GetEvents()).Select(e => e.Type), t => t is "rebase_started" or "pipeline_created");
        (await host.Api("maintainer").PostAsJsonAsync($"/api/v1/projects/{h.Upstream}/merge-requests/{byApi}/merge", new { })).EnsureSuccessStatusCode();
        var merged = await host.WaitForOutcome(byApi, 2, TimeSpan.FromSeconds(120));
        Assert.Equal((WorkflowState.Completed, maintainerName), (merged.State, merged.Requester!.Username));
    }

    [Fact]
    public async Task Given_a_label_set_by_a_developer_that_no_webhook_announced_When_reconciliation_finds_it_Then_it_is_refused_and_the_label_removed()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "recon", Policy, reconcile: TimeSpan.FromSeconds(2));
        var h = host.Harness;
        await h.Faults(new { drop_deliveries = 10_000 });
        var iid = await h.OpenMrAsync("docs-recon", "Docs", new FileChange("update", "README.md", "# mesa\nrecon\n"));
        var mr = $"projects/{h.Upstream}/merge_requests/{iid}";
        (await h.As("bob").PutAsJsonAsync(mr, new { add_labels = TriggerLabel })).EnsureSuccessStatusCode();

        var refused = await host.WaitForOutcome(iid, 1);
        var bobName = h.Seed["users"]!["bob"]!["username"]!.GetValue<string>();
        Assert.Equal((WorkflowState.Refused, TriggerKind.ReconciledLabel, bobName), (refused.State, refused.Requester!.Trigger, refused.Requester.Username));
        await Eventually.True(async () => (await h.Get(h.As("bob"), mr))["labels"]!.AsArray().Count == 0, "the label was removed");
        Assert.Single(await BotNotes(host, iid));
    }

    [Fact]
    public async Task Given_a_maintainer_demoted_while_the_build_runs_When_the_merge_comes_Then_nothing_is_merged_and_the_note_says_why()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "demote", Policy);
        var h = host.Harness;
        var (carolId, carol) = await host.NewMemberAsync("carol-demote", 40);
        var iid = await h.OpenMrAsync("slow-demote", "Slow tests", new FileChange("update", ".gitlab-ci/run-tests.sh", "sleep 6\ntrue\n"));
        var mr = $"projects/{h.Upstream}/merge_requests/{iid}";
        (await carol.PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();

        await Eventually.True(async () => (await host.Grain(iid).GetSnapshot()).Workflow.PipelineId is not null, "the pipeline to start");
        (await h.As("maintainer").PutAsJsonAsync($"projects/{h.Upstream}/members/{carolId}", new { access_level = 30 })).EnsureSuccessStatusCode();

        var failed = await host.WaitForOutcome(iid, 1, TimeSpan.FromSeconds(120));
        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.Contains("@carol-demote may no longer merge this", failed.Outcome);
        Assert.Equal("opened", (await h.Get(h.As("bob"), mr))["state"]!.GetValue<string>());
        Assert.Contains(await BotNotes(host, iid), n => n.Contains("may no longer merge this") && n.Contains("Maintainers may merge"));
    }

    [Theory]
    [InlineData("unassign", "")]
    [InlineData("api", " I have unassigned myself.")]
    public async Task Given_a_running_build_asked_for_by_assignment_When_it_is_cancelled_Then_our_pipeline_stops_and_the_bot_is_left_unassigned(
        string how, string undone)
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "cancel" + how, Policy);
        var h = host.Harness;
        var maintainer = h.As("maintainer");
        var (iid, mr) = await BuildingByAssignmentAsync(host, "slow-" + how);

        if (how == "api") await host.Grain(iid).Cancel("api", "no longer wanted");
        else (await maintainer.PutAsJsonAsync(mr, new { assignee_ids = new[] { 0 } })).EnsureSuccessStatusCode();
        var cancelled = await host.WaitForOutcome(iid, 1, TimeSpan.FromSeconds(20));

        Assert.Equal(WorkflowState.Cancelled, cancelled.State);
        await Eventually.True(async () => (await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{cancelled.PipelineId}"))["status"]!.GetValue<string>() == "canceled",
            "our pipeline to be cancelled");
        // Left assigned, the bot would tell everyone it is still on it.
        await Eventually.True(async () => (await h.Get(maintainer, mr))["assignees"]!.AsArray().Count == 0, "the bot to be unassigned");
        Assert.Equal("opened", (await h.Get(maintainer, mr))["state"]!.GetValue<string>());
        Assert.StartsWith($"Merge cancelled: {cancelled.Outcome}.{undone}\n", Assert.Single(await BotNotes(host, iid)));
    }

    /// <summary>A merge request with slow tests that a maintainer assigned to the bot, once our pipeline runs.</summary>
    private static async Task<(long Iid, string Path)> BuildingByAssignmentAsync(WebhookFedHost host, string branch)
    {
        var h = host.Harness;
        var iid = await h.OpenMrAsync(branch, "Slow tests", new FileChange("update", ".gitlab-ci/run-tests.sh", "sleep 8\ntrue\n"));
        var mr = $"projects/{h.Upstream}/merge_requests/{iid}";
        (await h.As("maintainer").PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        await Eventually.True(async () => (await host.Grain(iid).GetSnapshot()).Workflow.PipelineId is not null, "our pipeline to start");
        return (iid, mr);
    }

    private static async Task<List<string>> BotNotes(WebhookFedHost host, long iid) =>
        [.. (await host.Harness.Get(host.Harness.As("bob"), $"projects/{host.Harness.Upstream}/merge_requests/{iid}/notes?per_page=100")).AsArray()
            .Where(n => n!["author"]!["id"]!.GetValue<long>() == host.BotId && !n["system"]!.GetValue<bool>())
            .Select(n => n!["body"]!.GetValue<string>())];
}
