using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Sandbox.Registry;

/// <summary>
/// The real Debian registry, owned by the sandbox as GitLab owns its registry: started with token auth whose
/// realm is the sandbox's <c>/jwt/auth</c> and whose root certificate is the sandbox's signing certificate.
/// </summary>
public sealed class RegistryProcess(IOptions<SandboxOptions> options, TokenIssuer issuer, Model.SandboxStore store, ILogger<RegistryProcess> logger)
    : IHostedService
{
    private Process? process;

    /// <summary><c>host:port</c>, as <c>CI_REGISTRY</c> names it.</summary>
    public string Host { get; private set; } = "";

    public Uri BaseUrl => new($"http://{Host}");

    /// <summary>Starts the registry once the sandbox knows its own URL (the token realm).</summary>
    public async Task StartAsync(string realm, CancellationToken cancellationToken = default)
    {
        var o = options.Value.Registry;
        var port = o.Port == 0 ? FreePort() : o.Port;
        Host = $"127.0.0.1:{port}";
        var dir = Directory.CreateDirectory(Path.Combine(store.DataDir, "registry")).FullName;
        var cert = Path.Combine(dir, "token-signing.crt");
        await File.WriteAllTextAsync(cert, issuer.CertificatePem, cancellationToken);
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "data")}
              delete:
                enabled: true
            http:
              addr: {Host}
            auth:
              token:
                realm: {realm}
                service: {TokenIssuer.Service}
                issuer: {TokenIssuer.Issuer}
                rootcertbundle: {cert}
            """, cancellationToken);
        var psi = new ProcessStartInfo(o.Binary, ["serve", config])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        process = Process.Start(psi) ?? throw new InvalidOperationException($"{o.Binary} did not start");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) logger.LogDebug("registry: {Line}", e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) logger.LogDebug("registry: {Line}", e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                // 401 is the healthy answer of a token-protected registry.
                using var r = await http.GetAsync(new Uri(BaseUrl, "/v2/"), cancellationToken);
                if (r.StatusCode == HttpStatusCode.Unauthorized) return;
            }
            catch (HttpRequestException)
            {
            }
            if (process.HasExited) throw new InvalidOperationException($"the registry exited with {process.ExitCode}");
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException("the registry did not answer within 5 s");
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        return Task.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
