using System.Net.Http.Json;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>The real silo process on a real port, fed by the sandbox's own webhook deliveries — and by reconciliation when one is lost.</summary>
public sealed class WebhookDrivenTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{

    [Fact]
    public async Task Given_the_sandbox_sends_webhooks_When_the_bot_is_assigned_Then_the_mr_merges_and_a_lost_assignment_is_found_by_reconciliation()
    {
        await using var host = await WebhookFedHost.StartAsync(db, sandbox, "hook",
            h => WorkflowHarness.IncidentPolicy(h.UpstreamPath),
            reconcile: TimeSpan.FromSeconds(2), poll: TimeSpan.FromSeconds(1));
        var harness = host.Harness;
        var upstream = harness.Upstream;
        var maintainer = harness.Seed["users"]!["maintainer"]!["username"]!.GetValue<string>();

        // Reconciliation cannot list merge requests yet: the first one can only be found by its webhook (on a busy machine
        // a 2 s sweep could otherwise find it first, and the trigger would read as reconciled).
        await harness.Faults(new { routes = new[] { new { method = "GET", path = $"^/api/v4/projects/{upstream}/merge_requests$", status = 503, count = 1_000_000 } } });
        // Assigned to the bot: GitLab's merge request hook enqueues it, pipeline hooks move it on.
        var viaHook = await harness.OpenMrAsync("docs", "Docs", new FileChange("update", "README.md", "# mesa\nhooks\n"));
        (await harness.As("maintainer").PutAsJsonAsync($"projects/{upstream}/merge_requests/{viaHook}", new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        var first = await host.WaitForOutcome(viaHook, 1, TimeSpan.FromSeconds(60));
        Assert.True(first.State == WorkflowState.Completed, first.Outcome);
        Assert.Equal((WorkflowState.Completed, TriggerKind.Assignment, maintainer), (first.State, first.Requester!.Trigger, first.Requester.Username));

        // Every delivery is lost from now on, the assignment's too (and reconciliation lists again): it finds the MR within its period,
        // and polling carries it through without pipeline hooks.
        await harness.Faults(new { drop_deliveries = 10_000 });
        var lost = await harness.OpenMrAsync("docs2", "More docs", new FileChange("create", "docs.md", "more\n"));
        (await harness.As("maintainer").PutAsJsonAsync($"projects/{upstream}/merge_requests/{lost}", new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        var second = await host.WaitForOutcome(lost, 1, TimeSpan.FromSeconds(60));
        // The assigner is read from GitLab's "assigned to" system note, written by the maintainer.
        Assert.Equal((WorkflowState.Completed, TriggerKind.ReconciledAssignment, maintainer), (second.State, second.Requester!.Trigger, second.Requester.Username));
    }
}
