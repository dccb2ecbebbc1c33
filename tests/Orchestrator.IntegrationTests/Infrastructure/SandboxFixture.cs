extern alias sandbox;

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using sandbox::Sandbox;
using Xunit;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>The sandbox GitLab (with its real registry) on loopback, for the workflow's end-to-end tests.</summary>
public class SandboxFixture : IAsyncLifetime
{
    public const string AdminToken = "glpat-e2e-admin";
    private LoopbackSandbox? sandbox;

    public string BaseUrl => sandbox!.BaseUrl;
    public string RegistryUrl => sandbox!.RegistryUrl;

    /// <summary>The sandbox's settings for this fixture (a subclass may add its own, e.g. slower jobs).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sandbox:RebaseDuration"] = "00:00:00.300",
        ["Sandbox:MergeCheckDuration"] = "00:00:00.300",
    };

    public async Task InitializeAsync() => sandbox = await LoopbackSandbox.StartAsync(AdminToken, Settings);

    public HttpClient Api(string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl.TrimEnd('/') + "/api/v4/") };
        client.DefaultRequestHeaders.Add("PRIVATE-TOKEN", token);
        return client;
    }

    /// <summary>Seeds the incident through the sandbox's own API; the answer names users, tokens and ids.</summary>
    public async Task<JsonNode> SeedIncidentAsync(string suffix)
    {
        using var admin = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        admin.DefaultRequestHeaders.Add("PRIVATE-TOKEN", AdminToken);
        using var response = await admin.PostAsync($"/-/sandbox/seed/incident?suffix={suffix}", null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    public async Task DisposeAsync()
    {
        if (sandbox is not null) await sandbox.DisposeAsync();
    }
}
