extern alias sandbox;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using sandbox::Sandbox;
using sandbox::Sandbox.Model;
using sandbox::Sandbox.Registry;

namespace Orchestrator.Bench.Workload;

/// <summary>
/// The sandbox GitLab and its registry, inside the benchmark process with GitLab-like defaults (1 s rebase, 1 s
/// mergeability check). Both the orchestrator and the baseline bot work against this one instance.
/// </summary>
public sealed class SandboxHost : IAsyncDisposable
{
    public const string AdminToken = "glpat-bench-admin";
    private readonly WebApplication app;

    private SandboxHost(WebApplication app, string baseUrl, string registryUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
        RegistryUrl = registryUrl;
    }

    public string BaseUrl { get; }
    public string RegistryUrl { get; }
    public Rest Admin => Rest.GitLab(BaseUrl, AdminToken);

    public static async Task<SandboxHost> StartAsync()
    {
        var app = SandboxApp.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Sandbox:AdminToken"] = AdminToken,
                ["Logging:LogLevel:Default"] = "Error",
            });
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await SandboxApp.StartServicesAsync(app, url);
        return new SandboxHost(app, url, "http://" + app.Services.GetRequiredService<RegistryProcess>().Host);
    }

    public async ValueTask DisposeAsync()
    {
        var dataDir = app.Services.GetRequiredService<SandboxStore>().DataDir;
        await app.StopAsync();
        await app.DisposeAsync();
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
