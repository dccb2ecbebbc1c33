using System.Diagnostics;
using System.Diagnostics.Metrics;

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
}
