using System.Text.Json;
using JasperFx;
using JasperFx.Events;
using Marten;
using Marten.Exceptions;
using Npgsql;
using Orchestrator.Domain;

namespace Orchestrator.Persistence;

/// <summary>The Marten stream of one merge request: read it whole, append with optimistic concurrency.</summary>
public sealed class WorkflowJournal(IDocumentStore store)
{
    public async Task<(int Version, IReadOnlyList<IWorkflowEvent> Events)> ReadAsync(
        MergeRequestKey key, CancellationToken cancellationToken = default)
    {
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(key.StreamKey, token: cancellationToken);
        return (events.Count == 0 ? 0 : checked((int)events[^1].Version), [.. events.Select(e => (IWorkflowEvent)e.Data)]);
    }

    public async Task<IReadOnlyList<RecordedEvent>> ReadRecordedAsync(MergeRequestKey key, CancellationToken cancellationToken = default)
    {
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(key.StreamKey, token: cancellationToken);
        var serializer = store.Options.Serializer();
        return [.. events.Select(e => new RecordedEvent(e.Version, e.EventTypeName, ((IWorkflowEvent)e.Data).At, serializer.ToJson(e.Data)))];
    }

    /// <summary>
    /// Appends <paramref name="events"/> if the stream is still at <paramref name="expectedVersion"/>.
    /// Returns false when someone else appended first. A retry of an append that already landed (the
    /// commit went through but its answer was lost) finds its own events at that position and returns
    /// true without writing them twice.
    /// </summary>
    public async Task<bool> AppendAsync(
        MergeRequestKey key, int expectedVersion, IReadOnlyList<IWorkflowEvent> events, CancellationToken cancellationToken = default)
    {
        if (events.Count == 0) return true;
        try
        {
            await using var session = store.LightweightSession();
            if (expectedVersion == 0)
                session.Events.StartStream(key.StreamKey, events.Cast<object>());
            else
                // Marten wants the version the stream will have after this append.
                session.Events.Append(key.StreamKey, expectedVersion + events.Count, events.Cast<object>());
            await session.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (IsVersionConflict(e))
        {
            return await AlreadyAppendedAsync(key, expectedVersion, events, cancellationToken);
        }
    }

    private async Task<bool> AlreadyAppendedAsync(
        MergeRequestKey key, int expectedVersion, IReadOnlyList<IWorkflowEvent> events, CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        var stored = await session.Events.FetchStreamAsync(
            key.StreamKey, version: expectedVersion + events.Count, fromVersion: expectedVersion + 1, token: cancellationToken);
        if (stored.Count != events.Count) return false;
        // Events carry their decision time to the tick, so equal bodies at the same positions are our own write.
        return stored.Zip(events).All(pair =>
            pair.First.Data.GetType() == pair.Second.GetType()
            && JsonSerializer.Serialize(pair.First.Data, pair.Second.GetType()) == JsonSerializer.Serialize(pair.Second, pair.Second.GetType()));
    }

    private static bool IsVersionConflict(Exception e) => e switch
    {
        ConcurrencyException or JasperFx.Events.ExistingStreamIdCollisionException
            or Marten.Exceptions.ExistingStreamIdCollisionException => true,
        MartenCommandException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } } => true,
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => true,
        _ => false,
    };
}
