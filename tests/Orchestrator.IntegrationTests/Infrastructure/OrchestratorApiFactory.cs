using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>The real silo process (Program), API and Orleans together, on a test schema and free ports.</summary>
public sealed class OrchestratorApiFactory(string schema) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Orchestrator:Postgres:ConnectionString", TestPostgres.ConnectionString);
        builder.UseSetting("Orchestrator:Postgres:Schema", schema);
        builder.UseSetting("Orchestrator:Cluster:SiloPort", FreePort().ToString());
        builder.UseSetting("Orchestrator:Cluster:GatewayPort", FreePort().ToString());
        builder.UseSetting("Orchestrator:Http:MaxRequestBodyBytes", "4096");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
