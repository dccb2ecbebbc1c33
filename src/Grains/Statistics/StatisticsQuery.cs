using System.Globalization;
using Marten;
using Orchestrator.Domain;

namespace Orchestrator.Statistics;

/// <summary>
/// Feeds <see cref="StatisticsCalculator"/> from the event store: the events it reads, by their stable stored names,
/// over the last days, in the projects given (all when none are given).
/// </summary>
public sealed class StatisticsQuery(IDocumentStore store, TimeProvider clock)
{
    public const int MaxDays = 90;

    /// <summary>How much older than the window a landing's request may be and still give its time to land.</summary>
    public static readonly TimeSpan RequestLookback = TimeSpan.FromDays(7);

    private static readonly string[] Names = [.. new[]
    {
        typeof(MergeRequested), typeof(Merged), typeof(PipelineCreated), typeof(PipelineObserved), typeof(AttemptFailed), typeof(FreshnessChecked),
    }.Select(t => WorkflowEventNames.All[t])];

    /// <summary>The last <paramref name="days"/> UTC days, today included.</summary>
    public async Task<WorkflowStatistics> ComputeAsync(IReadOnlySet<long> projects, int days, CancellationToken ct = default)
    {
        var to = clock.GetUtcNow();
        var from = new DateTimeOffset(to.UtcDateTime.Date.AddDays(1 - days), TimeSpan.Zero);
        // The store's own timestamp narrows the read; the calculator goes by each event's decision time, a moment earlier.
        var since = from - RequestLookback - TimeSpan.FromDays(1);
        await using var session = store.QuerySession();
        var events = await session.Events.QueryAllRawEvents()
            .Where(e => Names.Contains(e.EventTypeName) && e.Timestamp >= since)
            .ToListAsync(ct);
        var mine = events.Where(e => e.Data is IWorkflowEvent && ProjectOf(e.StreamKey) is { } p && (projects.Count == 0 || projects.Contains(p)))
            .Select(e => new StreamEvent(e.StreamKey!, (IWorkflowEvent)e.Data));
        return StatisticsCalculator.Compute(mine, from, to);
    }

    /// <summary>The project of a stream named like <c>mr-278964-1203</c> (<see cref="MergeRequestKey.StreamKey"/>).</summary>
    public static long? ProjectOf(string? stream)
    {
        var parts = stream?.Split('-');
        return parts is ["mr", var project, _] && long.TryParse(project, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
    }
}
