using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Orleans.TestingHost;
using Xunit;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>An orchestrator cluster driving the seeded incident on the sandbox, with the helpers the workflow tests share.</summary>
public sealed class WorkflowHarness : IAsyncDisposable
{
    public required TestCluster Cluster { get; init; }
    public required JsonNode Seed { get; init; }
    public required SandboxFixture Sandbox { get; init; }

    public long Upstream => Seed["upstream"]!["id"]!.GetValue<long>();
    public long Fork => Seed["fork"]!["id"]!.GetValue<long>();
    public long MrA => Seed["mr_a"]!["iid"]!.GetValue<long>();
    public string UpstreamPath => Seed["upstream"]!["path"]!.GetValue<string>();
    public HttpClient As(string who) => Sandbox.Api(Seed["users"]![who]!["token"]!.GetValue<string>());

    public static readonly ImagePolicy BuildImage = new("debian/x86_64_build", ".gitlab-ci/image-tags.yml", "DEBIAN_BUILD_TAG", [".gitlab-ci/container/**"]);

    public static async Task<WorkflowHarness> StartAsync(SchemaFixture db, SandboxFixture sandbox, string suffix, int maxRebases = 3)
    {
        var seed = await sandbox.SeedIncidentAsync(suffix);
        var bot = seed["users"]!["bot"]!;
        var cluster = await OrchestratorCluster.DeployAsync(db.Schema, "svc-" + suffix + Guid.NewGuid().ToString("N")[..6], settings: new Dictionary<string, string?>
        {
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
            ["Orchestrator:Workflow:PollInterval"] = "00:00:00.200",
        });
        var harness = new WorkflowHarness { Cluster = cluster, Seed = seed, Sandbox = sandbox };
        await harness.Policies.SaveAsync(harness.Upstream, new ProjectPolicy([BuildImage], harness.UpstreamPath, 0, 10, maxRebases, false));
        return harness;
    }

    public PolicyStore Policies => Cluster.GetSiloServiceProvider().GetRequiredService<PolicyStore>();
    public WorkflowJournal Journal => Cluster.GetSiloServiceProvider().GetRequiredService<WorkflowJournal>();

    public IMergeRequestGrain Grain(long iid) => Cluster.GrainFactory.GetGrain<IMergeRequestGrain>(new MergeRequestKey(Upstream, iid).ToString());

    /// <summary>Waits until the attempt has ended and its note is recorded (the workflow's last step).</summary>
    public async Task<MergeRequestWorkflow> WaitForOutcome(long iid, int attempt, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            var s = (await Grain(iid).GetSnapshot()).Workflow;
            if (s.Attempt == attempt && !s.IsActive && s.OutcomeNoteId is not null && (s.State == WorkflowState.Completed || s.Promotions.Count == 0))
                return s;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"!{iid} attempt {attempt} is still {s.State} ({s.Outcome})");
            await Task.Delay(200);
        }
    }

    public async Task<JsonNode> Get(HttpClient client, string path) => (await client.GetFromJsonAsync<JsonNode>(path))!;

    public async Task<JsonNode> WaitForPipeline(HttpClient client, long project, string refName, string sha)
    {
        for (var i = 0; i < 600; i++)
        {
            var list = (await Get(client, $"projects/{project}/pipelines?ref={Uri.EscapeDataString(refName)}&sha={sha}")).AsArray();
            if (list.Count > 0 && list[0]!["status"]!.GetValue<string>() is "success" or "failed" or "canceled") return list[0]!;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no finished pipeline for {refName}@{sha}");
    }

    public async Task<string> Trace(HttpClient client, long project, long pipeline, int job)
    {
        var jobs = (await Get(client, $"projects/{project}/pipelines/{pipeline}/jobs")).AsArray();
        return await client.GetStringAsync($"projects/{project}/jobs/{jobs[job]!["id"]!.GetValue<long>()}/trace");
    }

    public async Task<IReadOnlyList<string>> EventTypes(long iid) =>
        [.. (await Grain(iid).GetEvents()).Select(e => e.Type)];

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
