using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Sandbox.Model;
using Sandbox.Registry;

namespace Sandbox;

/// <summary>
/// The sandbox inside another process (the test suites, the benchmark): on a free loopback port, its registry
/// started, its data folder removed when disposed. <paramref name="settings"/> in <see cref="StartAsync"/> are
/// <c>Sandbox:*</c> keys such as <c>Sandbox:RebaseDuration</c>.
/// </summary>
public sealed class LoopbackSandbox : IAsyncDisposable
{
    private readonly WebApplication app;

    private LoopbackSandbox(WebApplication app, string baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
        RegistryUrl = "http://" + app.Services.GetRequiredService<RegistryProcess>().Host;
    }

    /// <summary>The sandbox's own address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl { get; }

    /// <summary>The registry the sandbox started, as clients reach it.</summary>
    public string RegistryUrl { get; }

    /// <summary>The sandbox's state, for tests that hold a project's lock (<see cref="SandboxStore.Locked"/>).</summary>
    public SandboxStore Store => app.Services.GetRequiredService<SandboxStore>();

    public static async Task<LoopbackSandbox> StartAsync(string adminToken, IReadOnlyDictionary<string, string?>? settings = null,
        string logLevel = "Warning")
    {
        var app = SandboxApp.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            var values = new Dictionary<string, string?> { ["Sandbox:AdminToken"] = adminToken, ["Logging:LogLevel:Default"] = logLevel };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) values[key] = value;
            b.Configuration.AddInMemoryCollection(values);
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await SandboxApp.StartServicesAsync(app, url);
        return new LoopbackSandbox(app, url);
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
            // A job's process may still be letting go of its checkout; the folder is under the temp directory.
        }
    }
}
