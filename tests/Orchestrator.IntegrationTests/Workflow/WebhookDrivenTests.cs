using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Api;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Silo;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>The real silo process on a real port, fed by the sandbox's own webhook deliveries — and by reconciliation when one is lost.</summary>
public sealed class WebhookDrivenTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{

    [Fact]
    public async Task Given_the_sandbox_sends_webhooks_When_the_bot_is_assigned_Then_the_mr_merges_and_a_lost_assignment_is_found_by_reconciliation()
    {
        var seed = await sandbox.SeedIncidentAsync("hook");
        var bot = seed["users"]!["bot"]!;
        var url = $"http://127.0.0.1:{Ports.Free()}";
        // The upstream's own secret, made for this run: the one the hook below signs with.
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orchestrator:Postgres:ConnectionString"] = TestPostgres.ConnectionString,
            ["Orchestrator:Postgres:Schema"] = db.Schema,
            ["Orchestrator:Http:Urls"] = url,
            ["Orchestrator:Cluster:SiloPort"] = Ports.Free().ToString(),
            ["Orchestrator:Cluster:GatewayPort"] = Ports.Free().ToString(),
            ["Orchestrator:Cluster:ServiceId"] = "svc-hooks",
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
            [$"Orchestrator:Webhooks:Projects:{seed["upstream"]!["id"]!.GetValue<long>()}:Secret"] = secret,
            ["Orchestrator:Workflow:PollInterval"] = "00:00:01",
            ["Orchestrator:Workflow:ReconcileInterval"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddOrchestratorHost();
        await using var app = builder.Build();
        app.UseOrchestratorErrors();
        app.MapOrchestratorApi();
        await app.StartAsync();
        try
        {
            var harness = new WorkflowHarness { Cluster = null!, Seed = seed, Sandbox = sandbox };
            var upstream = harness.Upstream;
            await app.Services.GetRequiredService<PolicyStore>().SaveAsync(upstream,
                new ProjectPolicy([WorkflowHarness.BuildImage], harness.UpstreamPath, 0, 10, 3, false));
            var admin = sandbox.Api(SandboxFixture.AdminToken);
            (await admin.PostAsJsonAsync($"projects/{upstream}/hooks", new
            {
                url = url + "/webhooks/gitlab", token = secret, push_events = true, merge_requests_events = true, pipeline_events = true,
                job_events = true, note_events = true,
            })).EnsureSuccessStatusCode();
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            var botId = bot["id"]!.GetValue<long>();

            // Assigned to the bot: GitLab's merge request hook enqueues it, pipeline hooks move it on.
            var viaHook = await harness.OpenMrAsync("docs", "Docs", new FileChange("update", "README.md", "# mesa\nhooks\n"));
            var maintainer = seed["users"]!["maintainer"]!["username"]!.GetValue<string>();
            (await harness.As("maintainer").PutAsJsonAsync($"projects/{upstream}/merge_requests/{viaHook}", new { assignee_ids = new[] { botId } })).EnsureSuccessStatusCode();
            var first = await WaitForCompleted(grains, upstream, viaHook);
            Assert.Equal((TriggerKind.Assignment, maintainer), (first.Requester!.Trigger, first.Requester.Username));

            // Every delivery is lost from now on, the assignment's too: reconciliation finds the MR within its period,
            // and polling carries it through without pipeline hooks.
            await harness.Faults(new { drop_deliveries = 10_000 });
            var lost = await harness.OpenMrAsync("docs2", "More docs", new FileChange("create", "docs.md", "more\n"));
            (await harness.As("maintainer").PutAsJsonAsync($"projects/{upstream}/merge_requests/{lost}", new { assignee_ids = new[] { botId } })).EnsureSuccessStatusCode();
            var second = await WaitForCompleted(grains, upstream, lost);
            // The assigner is read from GitLab's "assigned to" system note, written by the maintainer.
            Assert.Equal((TriggerKind.ReconciledAssignment, maintainer), (second.Requester!.Trigger, second.Requester.Username));
        }
        finally
        {
            await new WorkflowHarness { Cluster = null!, Seed = seed, Sandbox = sandbox }.Faults(new { });
            await app.StopAsync();
        }
    }

    private static async Task<MergeRequestWorkflow> WaitForCompleted(IGrainFactory grains, long project, long iid)
    {
        var grain = grains.GetGrain<IMergeRequestGrain>(new MergeRequestKey(project, iid).ToString());
        for (var i = 0; i < 600; i++)
        {
            var s = (await grain.GetSnapshot()).Workflow;
            if (s.State == WorkflowState.Completed && s.OutcomeNoteId is not null) return s;
            if (s.State == WorkflowState.Failed) throw new InvalidOperationException($"!{iid} failed: {s.Outcome}");
            await Task.Delay(100);
        }
        throw new TimeoutException($"!{iid} never completed: {(await grain.GetSnapshot()).Workflow.State}");
    }
}
