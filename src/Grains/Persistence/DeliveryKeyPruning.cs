using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Persistence;

/// <summary>Forgets, hourly, the deliveries that caused no event once they are older than the retention.</summary>
public sealed class DeliveryKeyPruning(WebhookDeliveries deliveries, IOptions<OrchestratorOptions> options, TimeProvider clock,
    ILogger<DeliveryKeyPruning> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        do
        {
            try
            {
                var pruned = await deliveries.PruneAsync(clock.GetUtcNow() - options.Value.Webhooks.DeliveryKeyRetention, stoppingToken);
                if (pruned > 0) logger.LogInformation("Forgot {Count} webhook deliveries that caused no event", pruned);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Pruning webhook deliveries failed; trying again in an hour");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
