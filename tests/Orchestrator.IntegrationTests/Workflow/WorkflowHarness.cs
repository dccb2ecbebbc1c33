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
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

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

    /// <summary>
    /// The incident's policy. The sandbox runs ci-templates' build job in a shell executor, which names no image: the
    /// policy accepts that one job by name (it builds the image; no test runs in it).
    /// </summary>
    public static ProjectPolicy IncidentPolicy(string upstreamPath, int maxRebases = 3, string? triggerLabel = null, IReadOnlyList<string>? commanders = null) =>
        new([BuildImage], upstreamPath, 0, 10, maxRebases, false, triggerLabel, commanders, UnverifiedJobs: [BuildImage.Name]);

    public static async Task<WorkflowHarness> StartAsync(SchemaFixture db, SandboxFixture sandbox, string suffix, int maxRebases = 3,
        TimeSpan? pollInterval = null, bool withPolicy = true, ShiftedClock? clock = null, string? adminToken = null)
    {
        var seed = await sandbox.SeedIncidentAsync(suffix);
        var bot = seed["users"]!["bot"]!;
        var cluster = await OrchestratorCluster.DeployAsync(db.Schema, "svc-" + suffix + Guid.NewGuid().ToString("N")[..6], settings: new Dictionary<string, string?>
        {
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
            ["Orchestrator:Workflow:PollInterval"] = (pollInterval ?? TimeSpan.FromMilliseconds(200)).ToString(),
            ["Orchestrator:Workflow:ReminderPeriod"] = (pollInterval is { } p && p > TimeSpan.FromMinutes(1) ? p : TimeSpan.FromMinutes(1)).ToString(),
            [OrchestratorCluster.ClockSetting] = clock?.Name,
            ["Orchestrator:GitLab:AdminToken"] = adminToken,
        });
        var harness = new WorkflowHarness { Cluster = cluster, Seed = seed, Sandbox = sandbox };
        if (withPolicy) await harness.Policies.SaveAsync(harness.Upstream, IncidentPolicy(harness.UpstreamPath, maxRebases));
        return harness;
    }

    public PolicyStore Policies => Cluster.GetSiloServiceProvider().GetRequiredService<PolicyStore>();
    public WorkflowJournal Journal => Cluster.GetSiloServiceProvider().GetRequiredService<WorkflowJournal>();

    public IMergeRequestGrain Grain(long iid) => Cluster.GrainFactory.GetGrain<IMergeRequestGrain>(new MergeRequestKey(Upstream, iid).ToString());

    /// <summary>Waits until the attempt has ended and its note is recorded (the workflow's last step).</summary>
    public Task<MergeRequestWorkflow> WaitForOutcome(long iid, int attempt, TimeSpan? timeout = null) =>
        Eventually.Get(async () => (await Grain(iid).GetSnapshot()).Workflow,
            s => s.Attempt == attempt && !s.IsActive && s.OutcomeNoteId is not null
                && (s.State == WorkflowState.Completed || (s.Promotions.Count == 0 && s.PendingCleanup.Count == 0)),
            $"!{iid} attempt {attempt} to end with its note", timeout ?? TimeSpan.FromSeconds(120), every: TimeSpan.FromMilliseconds(200));

    public async Task<JsonNode> Get(HttpClient client, string path) => (await client.GetFromJsonAsync<JsonNode>(path))!;

    public async Task<JsonNode> WaitForPipeline(HttpClient client, long project, string refName, string sha) =>
        (await Eventually.Get(async () => (await Get(client, $"projects/{project}/pipelines?ref={Uri.EscapeDataString(refName)}&sha={sha}")).AsArray(),
            list => list.Count > 0 && list[0]!["status"]!.GetValue<string>() is "success" or "failed" or "canceled",
            $"a finished pipeline for {refName}@{sha}", TimeSpan.FromSeconds(60)))[0]!;

    public async Task<string> Trace(HttpClient client, long project, long pipeline, int job)
    {
        var jobs = (await Get(client, $"projects/{project}/pipelines/{pipeline}/jobs")).AsArray();
        return await client.GetStringAsync($"projects/{project}/jobs/{jobs[job]!["id"]!.GetValue<long>()}/trace");
    }

    public async Task<string> Trace(HttpClient client, long project, long pipeline, string job)
    {
        var jobs = (await Get(client, $"projects/{project}/pipelines/{pipeline}/jobs")).AsArray();
        return await client.GetStringAsync($"projects/{project}/jobs/{jobs.Single(j => j!["name"]!.GetValue<string>() == job)!["id"]!.GetValue<long>()}/trace");
    }

    /// <summary>The digest of an upstream image (the build image by default) under <paramref name="tag"/>, from the registry (null: absent).</summary>
    public async Task<string?> UpstreamDigest(string tag, string? image = null) =>
        (await Cluster.GetSiloServiceProvider().GetRequiredService<Adapters.IImageRegistry>()
            .InspectAsync($"{UpstreamPath.ToLowerInvariant()}/{image ?? BuildImage.Name}", tag))?.Digest;

    public async Task<IReadOnlyList<string>> EventTypes(long iid) =>
        [.. (await Grain(iid).GetEvents()).Select(e => e.Type)];

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

public static class WorkflowHarnessExtensions
{
    public sealed record FileChange(string Action, string Path, string Content);

    public static async Task<string> CommitAsync(this WorkflowHarness h, HttpClient as_, long project, string branch, string message,
        IEnumerable<FileChange> files, string? startBranch = null)
    {
        using var response = await as_.PostAsJsonAsync($"projects/{project}/repository/commits", new
        {
            branch, start_branch = startBranch, commit_message = message,
            actions = files.Select(f => new { action = f.Action, file_path = f.Path, content = f.Content }).ToArray(),
        });
        var body = await response.Content.ReadFromJsonAsync<JsonNode>();
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        return body!["id"]!.GetValue<string>();
    }

    /// <summary>bob opens a same-project merge request from a new branch of main.</summary>
    public static Task<long> OpenMrAsync(this WorkflowHarness h, string branch, string title, params FileChange[] files) =>
        h.OpenMrIntoAsync("main", branch, title, files);

    /// <summary>bob opens a same-project merge request into <paramref name="target"/>, from a new branch of it.</summary>
    public static async Task<long> OpenMrIntoAsync(this WorkflowHarness h, string target, string branch, string title, params FileChange[] files)
    {
        var bob = h.As("bob");
        await h.CommitAsync(bob, h.Upstream, branch, title, files, startBranch: target);
        using var response = await bob.PostAsJsonAsync($"projects/{h.Upstream}/merge_requests", new { source_branch = branch, target_branch = target, title });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!["iid"]!.GetValue<long>();
    }

    public static Task<MergeRequestWorkflow> WaitForState(this WorkflowHarness h, long iid, Func<MergeRequestWorkflow, bool> done,
        string what = "the awaited state") =>
        Eventually.Get(async () => (await h.Grain(iid).GetSnapshot()).Workflow, done, $"!{iid} to reach {what}", TimeSpan.FromSeconds(60));

    public static async Task<string> MainHead(this WorkflowHarness h) =>
        (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/repository/branches/main"))["commit"]!["id"]!.GetValue<string>();

    public static async Task Faults(this WorkflowHarness h, object faults)
    {
        using var admin = SandboxAdmin(h);
        (await admin.PutAsJsonAsync("/-/sandbox/faults", faults)).EnsureSuccessStatusCode();
    }

    /// <summary>The bodies of a merge request's notes, as its maintainer reads them on GitLab.</summary>
    public static async Task<IReadOnlyList<string>> NotesAsync(this WorkflowHarness h, long iid) =>
        [.. (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}/notes")).AsArray().Select(n => n!["body"]!.GetValue<string>())];

    /// <summary>Lets the calls a <c>held</c> route fault keeps waiting run now.</summary>
    public static async Task ReleaseHeldCalls(this WorkflowHarness h)
    {
        using var admin = SandboxAdmin(h);
        (await admin.PostAsync("/-/sandbox/faults/release", null)).EnsureSuccessStatusCode();
    }

    /// <summary>How many route faults no call has spent yet: 0 once every call they wait for has reached GitLab.</summary>
    public static async Task<int> ArmedRoutes(this WorkflowHarness h)
    {
        using var admin = SandboxAdmin(h);
        return (await admin.GetFromJsonAsync<JsonNode>("/-/sandbox/faults"))!["armed_routes"]!.GetValue<int>();
    }

    private static HttpClient SandboxAdmin(WorkflowHarness h)
    {
        var admin = new HttpClient { BaseAddress = new Uri(h.Sandbox.BaseUrl) };
        admin.DefaultRequestHeaders.Add("PRIVATE-TOKEN", SandboxFixture.AdminToken);
        return admin;
    }
}
