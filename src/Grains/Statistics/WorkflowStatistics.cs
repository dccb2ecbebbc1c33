using Orchestrator.Domain;

namespace Orchestrator.Statistics;

/// <summary>One event of a merge request's stream, with the stream it belongs to (attempts are numbered per stream).</summary>
public sealed record StreamEvent(string Stream, IWorkflowEvent Event);

/// <summary>Merges on one UTC day.</summary>
public sealed record DayCount(DateOnly Day, int Merged);

/// <summary>How many durations were measured and their percentiles (nearest rank), null when none was.</summary>
public sealed record DurationSummary(int Count, double? P50Seconds, double? P95Seconds);

public sealed record ReasonCount(string Reason, int Count);

/// <summary>Images the freshness checks sent to be built (stale, missing) and those they let through as they were (upstream, fresh).</summary>
public sealed record ImageCounts(int Rebuilt, int Reused);

/// <summary>The figures of the statistics panel over the UTC days from <paramref name="From"/> to <paramref name="To"/>.</summary>
public sealed record WorkflowStatistics(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<DayCount> LandingsPerDay, DurationSummary TimeToLand,
    DurationSummary CiTime, IReadOnlyList<ReasonCount> FailureReasons, ImageCounts Images);

/// <summary>
/// The statistics panel, computed from stored events and nothing else: pure, so the page's figures can be checked
/// against the streams. An outcome counts when it happened in the window; what started it may be older.
/// </summary>
public static class StatisticsCalculator
{
    public static WorkflowStatistics Compute(IEnumerable<StreamEvent> events, DateTimeOffset from, DateTimeOffset to)
    {
        var all = events.ToList();
        bool InWindow(IWorkflowEvent e) => e.At >= from && e.At <= to;

        var requested = new Dictionary<(string, int), DateTimeOffset>();
        var created = new Dictionary<(string, long), DateTimeOffset>();
        foreach (var (stream, e) in all)
        {
            if (e is MergeRequested r) requested.TryAdd((stream, r.Attempt), r.At);
            if (e is PipelineCreated p) created.TryAdd((stream, p.PipelineId), p.At);
        }

        var merges = all.Where(s => s.Event is Merged && InWindow(s.Event)).ToList();
        var days = Enumerable.Range(0, DayNumber(to) - DayNumber(from) + 1).Select(d => DateOnly.FromDateTime(from.UtcDateTime.Date).AddDays(d))
            .Select(day => new DayCount(day, merges.Count(m => DateOnly.FromDateTime(m.Event.At.UtcDateTime) == day))).ToList();

        var toLand = merges.Where(m => requested.ContainsKey((m.Stream, m.Event.Attempt)))
            .Select(m => (m.Event.At - requested[(m.Stream, m.Event.Attempt)]).TotalSeconds);

        // A pipeline's CI time ends at its first success or failure seen; a later observation of the same pipeline is no new run.
        var ci = all.Where(s => s.Event is PipelineObserved o && InWindow(o) && PipelineStatus.Classify(o.Status) is PipelineOutcome.Succeeded or PipelineOutcome.Failed)
            .GroupBy(s => (s.Stream, ((PipelineObserved)s.Event).PipelineId))
            .Select(g => g.MinBy(s => s.Event.At)!)
            .Where(s => created.ContainsKey((s.Stream, ((PipelineObserved)s.Event).PipelineId)))
            .Select(s => (s.Event.At - created[(s.Stream, ((PipelineObserved)s.Event).PipelineId)]).TotalSeconds);

        var reasons = all.Select(s => s.Event).OfType<AttemptFailed>().Where(InWindow)
            .GroupBy(FailureClass.Of).Select(g => new ReasonCount(g.Key, g.Count()))
            .OrderByDescending(r => r.Count).ThenBy(r => r.Reason, StringComparer.Ordinal).ToList();

        var verdicts = all.Select(s => s.Event).OfType<FreshnessChecked>().Where(InWindow).SelectMany(f => f.Images).Select(i => i.Verdict).ToList();
        var images = new ImageCounts(verdicts.Count(v => v.NeedsRebuild()), verdicts.Count(v => v is FreshnessVerdict.Upstream or FreshnessVerdict.Fresh));

        return new WorkflowStatistics(from, to, days, Summarize(toLand), Summarize(ci), reasons, images);
    }

    /// <summary>Nearest-rank percentiles: always a measured value, never an interpolation between two.</summary>
    public static DurationSummary Summarize(IEnumerable<double> seconds)
    {
        var sorted = seconds.Order().ToList();
        double? Rank(double p) => sorted.Count == 0 ? null : sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
        return new DurationSummary(sorted.Count, Rank(0.50), Rank(0.95));
    }

    private static int DayNumber(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime).DayNumber;
}
