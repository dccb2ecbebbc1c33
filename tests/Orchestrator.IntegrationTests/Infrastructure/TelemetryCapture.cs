using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Listens to the orchestrator's trace source (and HttpClient's) and meter, in memory, for the length of a test.</summary>
public sealed class TelemetryCapture : IDisposable
{
    private readonly ActivityListener activities;
    private readonly MeterListener meters = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> measurements = new();

    public ConcurrentQueue<Activity> Spans { get; } = new();

    public TelemetryCapture()
    {
        activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Orchestrator" or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Spans.Enqueue,
        };
        ActivitySource.AddActivityListener(activities);
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Orchestrator") listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, tags.ToArray())));
        meters.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, tags.ToArray())));
        meters.Start();
    }

    public double Sum(string instrument, params (string Key, string Value)[] tags) =>
        measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.Any(x => x.Key == t.Key && Equals(x.Value, t.Value))))
            .Sum(m => m.Value);

    public void Dispose()
    {
        activities.Dispose();
        meters.Dispose();
    }
}
