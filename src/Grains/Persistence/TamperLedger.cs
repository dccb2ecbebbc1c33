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
}

/// <summary>Read from the event store: <c>registry_tampered</c> events are alerts, few per project; too many fails closed.</summary>
public sealed class MartenTamperLedger(IDocumentStore store) : ITamperLedger
{
    /// <summary>More than this many tamperings recorded in one project is not read in part: the read fails.</summary>
    public const int Limit = 10_000;

    private static readonly string Name = WorkflowEventNames.All[typeof(RegistryTampered)];

    public async Task<IReadOnlyList<TagRestore>> ElsewhereAsync(MergeRequestKey key, CancellationToken ct = default)
    {
        var prefix = $"mr-{key.ProjectId}-";
        var own = key.StreamKey;
        await using var session = store.QuerySession();
        var events = await session.Events.QueryAllRawEvents()
            .Where(e => e.EventTypeName == Name && e.StreamKey!.StartsWith(prefix) && e.StreamKey != own)
            .Take(Limit + 1)
            .ToListAsync(ct);
        if (events.Count > Limit)
            throw new InvalidOperationException($"more than {Limit} registry tamperings recorded in project {key.ProjectId}: not read in part");
        return [.. events.Select(e => e.Data).OfType<RegistryTampered>().SelectMany(t => t.Restores ?? []).Where(r => r.Tampered is not null).Distinct()];
    }
}
