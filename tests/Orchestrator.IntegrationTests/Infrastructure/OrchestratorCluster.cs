using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Builds Orleans test clusters whose silos are configured exactly as the real silo is, on a test schema.</summary>
public static class OrchestratorCluster
{
    /// <summary>The configuration key naming a <see cref="ShiftedClock"/> the silos tell the time by.</summary>
    public const string ClockSetting = "Tests:Clock";

    public static async Task<TestCluster> DeployAsync(string schema, string serviceId, short silos = 1,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = new TestClusterBuilder(silos);
        // The same ServiceId across deployments: reminders and streams belong to the service, not one cluster.
        builder.Options.ServiceId = serviceId;
        builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orchestrator:Postgres:ConnectionString"] = TestPostgres.ConnectionString,
            ["Orchestrator:Postgres:Schema"] = schema,
        }));
        if (settings is not null) builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(settings));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.AddOrchestrator(silo.Configuration);
            if (ShiftedClock.Named(silo.Configuration[ClockSetting]) is { } clock) silo.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
            silo.Services.Configure<ReminderOptions>(o =>
            {
                o.MinimumReminderPeriod = TimeSpan.FromSeconds(1);
                o.RefreshReminderListPeriod = TimeSpan.FromSeconds(1);
                o.InitializationTimeout = TimeSpan.FromSeconds(30);
            });
        }
    }
}
