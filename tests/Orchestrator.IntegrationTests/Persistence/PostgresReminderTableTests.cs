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
        await Eventually.True(() => Task.FromResult(ReminderProbeGrain.Ticks.ContainsKey(probe)), "the reminder to fire in the new cluster",
            TimeSpan.FromSeconds(45));
        await next.GrainFactory.GetGrain<IReminderProbeGrain>(probe).Disarm();
    }

    [Fact]
    public async Task Given_a_disarmed_reminder_When_a_new_cluster_starts_Then_it_stays_silent()
    {
        var serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
        var probe = "probe-" + Guid.NewGuid().ToString("N")[..8];
        // Armed alongside and left armed: once it has fired twice in the new cluster (a whole period apart), that cluster
        // has read the table and fired whatever was due, so the disarmed probe's silence is shown rather than slept on.
        var control = "control-" + Guid.NewGuid().ToString("N")[..8];
        await using (var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId))
        {
            var grain = cluster.GrainFactory.GetGrain<IReminderProbeGrain>(probe);
            await grain.Arm(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
            await cluster.GrainFactory.GetGrain<IReminderProbeGrain>(control).Arm(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
            await grain.Disarm();
            await cluster.StopAllSilosAsync();
        }
        var controlTicks = ReminderProbeGrain.Ticks.GetValueOrDefault(control);

        await using var next = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        await Eventually.True(() => Task.FromResult(ReminderProbeGrain.Ticks.GetValueOrDefault(control) >= controlTicks + 2),
            "the armed control to fire twice in the new cluster", TimeSpan.FromSeconds(45));
        await next.GrainFactory.GetGrain<IReminderProbeGrain>(control).Disarm();

        Assert.False(ReminderProbeGrain.Ticks.ContainsKey(probe));
    }
}
