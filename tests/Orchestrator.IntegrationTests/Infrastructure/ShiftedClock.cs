using System.Collections.Concurrent;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The wall clock moved forward on demand, for deadlines measured in minutes. Only the time of day moves: timers and
/// timestamps keep the machine's pace, so polls and retries run as they would.
/// </summary>
public sealed class ShiftedClock : TimeProvider
{
    private static readonly ConcurrentDictionary<string, ShiftedClock> Registered = new();
    private long offsetTicks;

    public string Name { get; } = Guid.NewGuid().ToString("N");

    public ShiftedClock() => Registered[Name] = this;

    public static ShiftedClock? Named(string? name) => name is not null && Registered.TryGetValue(name, out var clock) ? clock : null;

    public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref offsetTicks));
}
