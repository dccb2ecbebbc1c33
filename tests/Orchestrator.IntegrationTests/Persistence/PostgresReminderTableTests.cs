using Orchestrator.IntegrationTests.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Persistence;

public sealed class PostgresReminderTableTests(SchemaFixture db) : IClassFixture<SchemaFixture>
{
    [Fact]
    public async Task Given_a_reminder_registered_before_the_cluster_stops_When_a_new_cluster_starts_Then_it_fires_there()
    {
        var serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
        var probe = "probe-" + Guid.NewGuid().ToString("N")[..8];
        await using (var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId))
        {
            // Due far enough ahead that the first cluster is gone before it fires.
            await cluster.GrainFactory.GetGrain<IReminderProbeGrain>(probe).Arm(TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(2));
            await cluster.StopAllSilosAsync();
        }
        Assert.False(ReminderProbeGrain.Ticks.ContainsKey(probe));

        await using var next = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (!ReminderProbeGrain.Ticks.ContainsKey(probe) && DateTime.UtcNow < deadline)
            await Task.Delay(200);

        Assert.True(ReminderProbeGrain.Ticks.ContainsKey(probe), "the reminder did not fire in the new cluster within 45 s");
        await next.GrainFactory.GetGrain<IReminderProbeGrain>(probe).Disarm();
    }

    [Fact]
    public async Task Given_a_disarmed_reminder_When_a_new_cluster_starts_Then_it_stays_silent()
    {
        var serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
        var probe = "probe-" + Guid.NewGuid().ToString("N")[..8];
        await using (var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId))
        {
            var grain = cluster.GrainFactory.GetGrain<IReminderProbeGrain>(probe);
            await grain.Arm(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
            await grain.Disarm();
            await cluster.StopAllSilosAsync();
        }

        await using var next = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        await Task.Delay(TimeSpan.FromSeconds(8));

        Assert.False(ReminderProbeGrain.Ticks.ContainsKey(probe));
    }
}
