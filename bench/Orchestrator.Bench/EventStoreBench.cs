using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.Persistence;

namespace Orchestrator.Bench;

public static class EventStoreBench
{
    public sealed record Rate(double PerSecond, double P50Ms, double P99Ms);

    public sealed record ReplayTime(double MedianMs);

    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Append rate (one writer, single-event appends as the grain makes them) and replay time by stream length.</summary>
    public static async Task<JsonObject> RunAsync(WorkflowJournal journal, bool quick)
    {
        await WarmUp(journal);
        var appends = quick ? 500 : 2_000;
        var rate = await AppendRate(journal, streams: 20, appends);
        Console.Error.WriteLine($"  eventstore: {rate.PerSecond:F0} appends/s");
        var replay = new JsonArray();
        foreach (var size in new[] { 10, 100, 1_000, 10_000 })
        {
            var time = await Replay(journal, size, runs: size >= 10_000 ? (quick ? 2 : 5) : 20);
            replay.Add(new JsonObject { ["events"] = size, ["median_ms"] = Math.Round(time.MedianMs, 2), ["us_per_event"] = Math.Round(time.MedianMs * 1000 / size, 1) });
        }
        return new JsonObject
        {
            ["appends"] = appends, ["appends_per_s"] = Math.Round(rate.PerSecond), ["append_p50_ms"] = Math.Round(rate.P50Ms, 2),
            ["append_p99_ms"] = Math.Round(rate.P99Ms, 2), ["replay"] = replay,
        };
    }

    public static async Task WarmUp(WorkflowJournal journal)
    {
        var key = new MergeRequestKey(999_999, 1);
        var events = Cycle(1, T0).ToArray();
        await journal.AppendAsync(key, 0, events);
        await journal.ReadAsync(key);
    }

    public static async Task<Rate> AppendRate(WorkflowJournal journal, int streams, int appends)
    {
        var versions = new int[streams];
        var latencies = new double[appends];
        var events = Enumerable.Range(0, appends / streams + 1).SelectMany(a => Cycle(a + 1, T0.AddMinutes(a))).ToArray();
        var total = Stopwatch.StartNew();
        for (var i = 0; i < appends; i++)
        {
            var s = i % streams;
            var key = new MergeRequestKey(1_000, s + 1);
            var started = Stopwatch.GetTimestamp();
            if (!await journal.AppendAsync(key, versions[s], [events[versions[s]]]))
                throw new InvalidOperationException("unexpected version conflict in a single-writer benchmark");
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            versions[s]++;
        }
        total.Stop();
        Array.Sort(latencies);
        return new Rate(appends / total.Elapsed.TotalSeconds, latencies[appends / 2], latencies[(int)(appends * 0.99)]);
    }

    public static async Task<ReplayTime> Replay(WorkflowJournal journal, int size, int runs)
    {
        var key = new MergeRequestKey(2_000, size);
        var events = Enumerable.Range(0, size / 2 + 1).SelectMany(a => Cycle(a + 1, T0.AddMinutes(a))).Take(size).ToArray();
        for (var offset = 0; offset < size; offset += 500)
            await journal.AppendAsync(key, offset, events[offset..Math.Min(size, offset + 500)]);
        var times = new double[runs];
        for (var r = 0; r < runs; r++)
        {
            var started = Stopwatch.GetTimestamp();
            var (version, read) = await journal.ReadAsync(key);
            var state = WorkflowEvolver.Fold(read);
            times[r] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (version != size || state.Attempt == 0) throw new InvalidOperationException($"replayed {version} of {size}");
        }
        Array.Sort(times);
        return new ReplayTime(times[runs / 2]);
    }

    // An enqueue and a cancel: the cheapest realistic pair, alternating so every fold step does work.
    private static IEnumerable<IWorkflowEvent> Cycle(int attempt, DateTimeOffset at) =>
    [
        new MergeRequested(attempt, "marge-bot", at),
        new AttemptCancelled(attempt, "api", "benchmark", at.AddSeconds(1)),
    ];
}
