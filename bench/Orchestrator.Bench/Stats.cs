using System.Text.Json.Nodes;

namespace Orchestrator.Bench;

/// <summary>Median, p95 (nearest rank) and mean of a sample, rounded for reading.</summary>
public sealed record Stats(int Count, double Median, double P95, double Mean, double Min, double Max)
{
    public static Stats Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) return new Stats(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var sorted = values.OrderBy(v => v).ToArray();
        double Rank(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return new Stats(sorted.Length, median, Rank(0.95), sorted.Average(), sorted[0], sorted[^1]);
    }

    public JsonObject ToJson() => new()
    {
        ["count"] = Count, ["median"] = Math.Round(Median, 3), ["p95"] = Math.Round(P95, 3), ["mean"] = Math.Round(Mean, 3),
        ["min"] = Math.Round(Min, 3), ["max"] = Math.Round(Max, 3),
    };
}
