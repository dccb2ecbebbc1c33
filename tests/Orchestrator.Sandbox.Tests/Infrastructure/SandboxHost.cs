using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sandbox;
using Sandbox.Model;
using Xunit;

namespace Orchestrator.Sandbox.Tests.Infrastructure;

/// <summary>The sandbox on a real loopback port (python-gitlab needs one), short asynchrony for tests.</summary>
public sealed class SandboxHost : IAsyncLifetime
{
    public const string AdminToken = "glpat-admin-for-tests";
    public static readonly TimeSpan RebaseDuration = TimeSpan.FromMilliseconds(600);
    public static readonly TimeSpan MergeCheckDuration = TimeSpan.FromMilliseconds(1000);

    private WebApplication? app;

    public Uri BaseUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        app = SandboxApp.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Sandbox:AdminToken"] = AdminToken,
                ["Sandbox:RebaseDuration"] = RebaseDuration.ToString(),
                ["Sandbox:MergeCheckDuration"] = MergeCheckDuration.ToString(),
                ["Logging:LogLevel:Default"] = "Warning",
            });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address);
        await SandboxApp.StartServicesAsync(app, address);
    }

    public HttpClient Client(string? token = AdminToken)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl, "/api/v4/") };
        if (token is not null) client.DefaultRequestHeaders.Add("PRIVATE-TOKEN", token);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (app is not null)
        {
            var dataDir = app.Services.GetRequiredService<SandboxStore>().DataDir;
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
