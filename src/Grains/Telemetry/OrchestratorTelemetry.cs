using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Telemetry;

/// <summary>The project's own trace source and meter; the silo subscribes to both by <see cref="Name"/>.</summary>
public static class OrchestratorTelemetry
{
    public const string Name = "Orchestrator";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> EventsAppended =
        Meter.CreateCounter<long>("orchestrator.events.appended", "{event}", "Workflow events appended to merge-request streams");

    public static readonly Counter<long> CommandsRejected =
        Meter.CreateCounter<long>("orchestrator.commands.rejected", "{command}", "Workflow commands the decider rejected");

    public static readonly Counter<long> ConcurrencyRetries =
        Meter.CreateCounter<long>("orchestrator.stream.conflicts", "{conflict}", "Appends that lost a race and were decided again");

    public static readonly Counter<long> Workflows =
        Meter.CreateCounter<long>("orchestrator.workflows", "{attempt}", "Attempts that ended, by outcome (completed, failed, cancelled)");

    public static readonly Histogram<double> StepDuration =
        Meter.CreateHistogram<double>("orchestrator.step.duration", "s", "Time an attempt spent in each step");

    public static readonly Counter<long> ForcedRebuilds =
        Meter.CreateCounter<long>("orchestrator.rebuilds.forced", "{pipeline}", "Our pipelines that build an image because it was stale or missing (FDO_FORCE_REBUILD, or its stale tag deleted)");

    public static readonly Counter<long> Promotions =
        Meter.CreateCounter<long>("orchestrator.images.promoted", "{image}", "Verified images promoted upstream, i.e. rebuilds avoided after merge");

    public static readonly Counter<long> RegistryTampering =
        Meter.CreateCounter<long>("orchestrator.registry.tampered", "{tag}", "Tags of the target's registry our pipeline changed without cause (alert on any)");

    public static readonly Counter<long> WebhookDeliveries =
        Meter.CreateCounter<long>("orchestrator.webhooks.deliveries", "{delivery}", "Webhook deliveries, by event and result");

    public static readonly Histogram<double> WebhookPhase =
        Meter.CreateHistogram<double>("orchestrator.webhooks.phase.duration", "ms",
            "Time a webhook delivery spends in each phase: read (body and JSON parse), check (signer, token, typed payload), route (the grain call, its commit wait included), remember (a no-event delivery's commit wait)");

    public static readonly Histogram<double> JournalCommitWait =
        Meter.CreateHistogram<double>("orchestrator.journal.commit.duration", "ms", "Time from handing a write to the group commit until its batch is durable");

    public static readonly Histogram<double> JournalReadWait =
        Meter.CreateHistogram<double>("orchestrator.journal.read.duration", "ms", "Time from asking for a stream (a grain's activation) until it is read, in a batch of such reads");

    public static readonly Histogram<int> JournalBatchSize =
        Meter.CreateHistogram<int>("orchestrator.journal.batch.size", "{write}", "Writes per group-commit transaction");

    /// <summary>
    /// One trace per workflow attempt: its id is derived from the merge request and the attempt, so every step —
    /// in whichever process, before or after a restart — and every GitLab or registry call made in it join the
    /// same trace without any state to carry.
    /// </summary>
    public static ActivityContext AttemptContext(string mergeRequest, int attempt)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{mergeRequest}#{attempt}"));
        return new ActivityContext(ActivityTraceId.CreateFromBytes(hash.AsSpan(0, 16)), ActivitySpanId.CreateFromBytes(hash.AsSpan(16, 8)),
            ActivityTraceFlags.Recorded, isRemote: true);
    }
}
