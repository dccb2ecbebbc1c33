using Marten;
using Orchestrator.Domain;

namespace Orchestrator.Persistence;

/// <summary>
/// The digests other merge requests' streams of the same target project recorded as planted (<see cref="RegistryTampered"/>):
/// two guarded pipelines at once in one registry must never restore a tag to what the other one planted.
/// </summary>
public interface ITamperLedger
{
    /// <summary>
    /// Every restore another merge request of <paramref name="key"/>'s project recorded (what it found planted, and what was
    /// there before). Read after the registry: a restore another merge request made is recorded before it is made.
    /// </summary>
    Task<IReadOnlyList<TagRestore>> ElsewhereAsync(MergeRequestKey key, CancellationToken ct = default);

    /// <summary>
    /// The project's other merge requests whose guarded pipeline ran at <paramref name="snapshotAt"/> (<see cref="GuardedWindows.OpenAt"/>),
    /// looking back <see cref="MartenTamperLedger.Lookback"/>.
    /// </summary>
    Task<IReadOnlyList<string>> OverlappingAsync(MergeRequestKey key, DateTimeOffset snapshotAt, CancellationToken ct = default);
}

/// <summary>Read from the event store: <c>registry_tampered</c> events are alerts, few per project; too many fails closed.</summary>
public sealed class MartenTamperLedger(IDocumentStore store) : ITamperLedger
{
    /// <summary>More than this many tamperings recorded in one project is not read in part: the read fails.</summary>
    public const int Limit = 10_000;

    private static readonly string Name = WorkflowEventNames.All[typeof(RegistryTampered)];

    /// <summary>How far back a guarded window may have opened: longer than any CI timeout a policy takes.</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromDays(2);

    private static readonly string[] WindowEvents =
        [.. new[] { typeof(PipelinePrepared), typeof(RegistryChecked), typeof(BuildVerified), typeof(BuildRejected) }.Select(t => WorkflowEventNames.All[t])];

    public async Task<IReadOnlyList<string>> OverlappingAsync(MergeRequestKey key, DateTimeOffset snapshotAt, CancellationToken ct = default)
    {
        var events = await OthersAsync(key, WindowEvents, snapshotAt - Lookback, "guarded pipeline events", ct);
        return GuardedWindows.OpenAt(events.Select(e => (e.StreamKey!, (IWorkflowEvent)e.Data)), snapshotAt);
    }

    public async Task<IReadOnlyList<TagRestore>> ElsewhereAsync(MergeRequestKey key, CancellationToken ct = default) =>
        [.. (await OthersAsync(key, [Name], DateTimeOffset.MinValue, "registry tamperings", ct)).Select(e => e.Data).OfType<RegistryTampered>()
            .SelectMany(t => t.Restores ?? []).Where(r => r.Tampered is not null).Distinct()];

    /// <summary>The events of these types in the project's other merge requests' streams since then; more than <see cref="Limit"/> fails.</summary>
    private async Task<IReadOnlyList<JasperFx.Events.IEvent>> OthersAsync(MergeRequestKey key, string[] types, DateTimeOffset since, string what, CancellationToken ct)
    {
        var prefix = $"mr-{key.ProjectId}-";
        var own = key.StreamKey;
        await using var session = store.QuerySession();
        var events = await session.Events.QueryAllRawEvents()
            .Where(e => e.EventTypeName.IsOneOf(types) && e.StreamKey!.StartsWith(prefix) && e.StreamKey != own && e.Timestamp >= since)
            .Take(Limit + 1)
            .ToListAsync(ct);
        return events.Count > Limit
            ? throw new InvalidOperationException($"more than {Limit} {what} recorded in project {key.ProjectId}: not read in part")
            : events;
    }
}
