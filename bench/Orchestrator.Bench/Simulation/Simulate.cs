using System.Globalization;

namespace Orchestrator.Bench.Simulation;

/// <summary>The <c>simulate</c> verb: the table, and exit code 1 when a claim fails. Every run is replayed (each recorded plan
/// re-decided from its recorded inputs) unless <c>--no-replay</c>.</summary>
public static class Simulate
{
    public static int Run(string[] args)
    {
        string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        double Number(string name, double fallback) =>
            Option(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var (overhead, source) = MeasuredOverhead.From(Option("--overhead-from"));
        var settings = new SimulationSettings(
            PipelineMinutes: Number("--pipeline-minutes", 60),
            FailureShare: 0,
            Budget: 4,
            BumpShare: Number("--bump-share", 0.15),
            BuildMinutes: Number("--build-minutes", 30),
            OverheadSeconds: overhead,
            Backlog: 20,
            Hours: Number("--hours", 400),
            WarmupHours: Number("--warmup-hours", 20),
            Seed: (int)Number("--seed", 18));
        return SimulationTable.Print(settings, source, !args.Contains("--no-replay"), Console.Out) == 0 ? 0 : 1;
    }
}
