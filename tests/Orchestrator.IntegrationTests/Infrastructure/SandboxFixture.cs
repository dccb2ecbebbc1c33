extern alias sandbox;

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using sandbox::Sandbox;
using sandbox::Sandbox.Model;
using sandbox::Sandbox.Registry;
using Xunit;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>The sandbox GitLab (with its real registry) on loopback, for the workflow's end-to-end tests.</summary>
public sealed class SandboxFixture : IAsyncLifetime
{
    public const string AdminToken = "glpat-e2e-admin";
    private WebApplication? app;

    public string BaseUrl { get; private set; } = "";
    public string RegistryUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        app = SandboxApp.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Sandbox:AdminToken"] = AdminToken,
                ["Sandbox:RebaseDuration"] = "00:00:00.300",
                ["Sandbox:MergeCheckDuration"] = "00:00:00.300",
                ["Logging:LogLevel:Default"] = "Warning",
            });
        });
        await app.StartAsync();
        BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await SandboxApp.StartServicesAsync(app, BaseUrl);
        RegistryUrl = "http://" + app.Services.GetRequiredService<RegistryProcess>().Host;
    }

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
        if (app is null) return;
        var dataDir = app.Services.GetRequiredService<SandboxStore>().DataDir;
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(dataDir, recursive: true);
    }
}
