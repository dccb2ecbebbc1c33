using System.Net.Http.Json;
using System.Security.Cryptography;
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

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// The orchestrator's real host (API, webhooks and silo in one process) on a free port, driving a freshly seeded
/// incident on the sandbox, fed by the sandbox's own webhook deliveries signed with the upstream's own secret.
/// </summary>
public sealed class WebhookFedHost : IAsyncDisposable
{
    public required WebApplication App { get; init; }
    public required WorkflowHarness Harness { get; init; }
    public required long BotId { get; init; }
    public required SandboxFixture Sandbox { get; init; }
    public required string Url { get; init; }
    /// <summary>A merge-scoped API token per seeded person ("bob", "maintainer"), each acting for that GitLab user.</summary>
    public required IReadOnlyDictionary<string, string> ApiTokens { get; init; }

    /// <summary>The orchestrator's REST API with the token that acts for <paramref name="who"/>.</summary>
    public HttpClient Api(string who)
    {
        var client = new HttpClient { BaseAddress = new Uri(Url) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", ApiTokens[who]);
        return client;
    }

    public IMergeRequestGrain Grain(long iid) =>
        App.Services.GetRequiredService<IGrainFactory>().GetGrain<IMergeRequestGrain>(new MergeRequestKey(Harness.Upstream, iid).ToString());

    public static async Task<WebhookFedHost> StartAsync(SchemaFixture db, SandboxFixture sandbox, string suffix,
        Func<WorkflowHarness, ProjectPolicy> policy, TimeSpan? reconcile = null, TimeSpan? poll = null)
    {
        var seed = await sandbox.SeedIncidentAsync(suffix);
        var harness = new WorkflowHarness { Cluster = null!, Seed = seed, Sandbox = sandbox };
        var bot = seed["users"]!["bot"]!;
        var url = $"http://127.0.0.1:{Ports.Free()}";
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var tokens = new[] { "bob", "maintainer" }.ToDictionary(who => who, _ => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orchestrator:Postgres:ConnectionString"] = TestPostgres.ConnectionString,
            ["Orchestrator:Postgres:Schema"] = db.Schema,
            ["Orchestrator:Http:Urls"] = url,
            ["Orchestrator:Cluster:SiloPort"] = Ports.Free().ToString(),
            ["Orchestrator:Cluster:GatewayPort"] = Ports.Free().ToString(),
            ["Orchestrator:Cluster:ServiceId"] = "svc-" + suffix,
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
            [$"Orchestrator:Webhooks:Projects:{harness.Upstream}:Secret"] = secret,
            ["Orchestrator:Workflow:PollInterval"] = (poll ?? TimeSpan.FromMilliseconds(500)).ToString(),
            ["Orchestrator:Workflow:ReconcileInterval"] = (reconcile ?? TimeSpan.Zero).ToString(),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        foreach (var (who, i) in tokens.Keys.Select((who, i) => (who, i)))
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"Orchestrator:Api:Tokens:{i}:Name"] = $"acting-for-{who}",
                [$"Orchestrator:Api:Tokens:{i}:Sha256"] = Orchestrator.Api.Security.ApiTokens.Hash(tokens[who]),
                [$"Orchestrator:Api:Tokens:{i}:Scopes:0"] = "merge",
                [$"Orchestrator:Api:Tokens:{i}:GitLabUser"] = seed["users"]![who]!["username"]!.GetValue<string>(),
            });
        builder.AddOrchestratorHost();
        var app = builder.Build();
        app.UseOrchestratorErrors();
        app.MapOrchestratorApi();
        await app.StartAsync();
        await app.Services.GetRequiredService<PolicyStore>().SaveAsync(harness.Upstream, policy(harness));
        (await sandbox.Api(SandboxFixture.AdminToken).PostAsJsonAsync($"projects/{harness.Upstream}/hooks", new
        {
            url = url + "/webhooks/gitlab", token = secret, push_events = true, merge_requests_events = true, pipeline_events = true,
            job_events = true, note_events = true,
        })).EnsureSuccessStatusCode();
        return new WebhookFedHost
        {
            App = app, Harness = harness, BotId = bot["id"]!.GetValue<long>(), Sandbox = sandbox, Url = url, ApiTokens = tokens,
        };
    }

    /// <summary>A new user made a member of the project at <paramref name="level"/> by its maintainer.</summary>
    public async Task<(long Id, HttpClient Client)> NewMemberAsync(string username, int level)
    {
        var admin = Sandbox.Api(SandboxFixture.AdminToken);
        var user = await Post(admin, "users", new { email = $"{username}@example.com", username, name = username, password = "s3cret-password" });
        var token = await Post(admin, $"users/{user["id"]}/personal_access_tokens", new { name = "test", scopes = new[] { "api" } });
        await Post(Harness.As("maintainer"), $"projects/{Harness.Upstream}/members", new { user_id = user["id"]!.GetValue<long>(), access_level = level });
        return (user["id"]!.GetValue<long>(), Sandbox.Api(token["token"]!.GetValue<string>()));
    }

    private static async Task<JsonNode> Post(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    /// <summary>Until the attempt has ended and its note is recorded.</summary>
    public Task<MergeRequestWorkflow> WaitForOutcome(long iid, int attempt, TimeSpan? timeout = null) =>
        Eventually.Get(async () => (await Grain(iid).GetSnapshot()).Workflow,
            s => s.Attempt == attempt && !s.IsActive && s.OutcomeNoteId is not null,
            $"!{iid} attempt {attempt} to end with a note", timeout ?? TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        // The sandbox is shared by the class: a test that dropped deliveries must not starve the next.
        await Harness.Faults(new { });
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
