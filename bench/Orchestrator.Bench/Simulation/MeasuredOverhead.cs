using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Simulation;

/// <summary>
/// GitLab's fixed cost per car, not fitted: the orchestrator's overhead per MR from benchmark figure 1
/// (<see cref="OverheadBench"/>: enqueue → merged minus the pipeline's wall time, on the sandbox GitLab with its 1 s
/// rebases and 1 s mergeability checks, webhooks and the 10 s poll as fallback). The default is the median of the run
/// recorded below; <c>--overhead-from</c> reads a fresh one (bench/run.sh's parts/overhead.json).
/// </summary>
public static class MeasuredOverhead
{
    /// <summary>Median of 8 MRs, `Orchestrator.Bench workflows --only overhead` at commit 4e408f3 on 2026-11-30, 2 shared cores (p95 4.208 s).</summary>
    public const double MedianSeconds = 3.089;

    public const string Source = "bench figure 1, median of 8 MRs at 4e408f3 (2026-11-30)";

    public static (double Seconds, string Source) From(string? overheadJson)
    {
        if (overheadJson is null) return (MedianSeconds, Source);
        var figure = JsonNode.Parse(File.ReadAllText(overheadJson))?["orchestrator_overhead_s"]?["median"]?.GetValue<double>()
            ?? throw new InvalidOperationException($"{overheadJson}: no orchestrator_overhead_s.median (write it with bench/run.sh or `workflows --only overhead`)");
        return (figure, $"bench figure 1 median from {overheadJson}");
    }
}
