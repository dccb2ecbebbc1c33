using System.Diagnostics;
using System.Text.Json;
using JasperFx;
using JasperFx.Events;
using Marten;
using Marten.Exceptions;
using Npgsql;
using Orchestrator.Domain;

namespace Orchestrator.Persistence;

/// <summary>
/// The Marten stream of each merge request: read whole, appended with optimistic concurrency through one group
/// commit shared by every grain and webhook of the process, together with the deliveries that caused the events.
/// </summary>
public sealed class WorkflowJournal : IAsyncDisposable
{
    private readonly IDocumentStore store;
    private readonly BatchQueue<JournalWrite, WriteOutcome> commits;
    private readonly BatchQueue<string, StoredStream> reads;

    public WorkflowJournal(IDocumentStore store, NpgsqlDataSource dataSource, PostgresSchema schema, BatchOptions? options = null)
    {
        this.store = store;
        var batch = new JournalBatch(store, dataSource, schema, AlreadyAppendedAsync);
        commits = new BatchQueue<JournalWrite, WriteOutcome>(async (writes, ct) =>
        {
            Telemetry.OrchestratorTelemetry.JournalBatchSize.Record(writes.Count);
            return await batch.WriteAsync(writes, ct);
        }, (write, ct) => WriteAloneAsync(batch, write, ct), options);
        // Every new merge request's grain reads its stream on activation: many at once share one round trip.
        reads = new BatchQueue<string, StoredStream>(batch.ReadAsync, async (stream, ct) => (await batch.ReadAsync([stream], ct))[0], options);
    }

    /// <summary>Transactions written so far and the writes in them.</summary>
    public (long Batches, long Writes) Commits => (commits.Batches, commits.Items);

    /// <summary>Round trips of stream reads so far and the streams read in them.</summary>
    public (long Batches, long Streams) Reads => (reads.Batches, reads.Items);

    public async Task<(int Version, IReadOnlyList<IWorkflowEvent> Events)> ReadAsync(
        MergeRequestKey key, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var stream = await reads.SubmitAsync(key.StreamKey);
        Telemetry.OrchestratorTelemetry.JournalReadWait.Record(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        return (stream.Version, stream.Events);
    }

    private async Task<IReadOnlyList<IEvent>> ReadStreamAsync(string stream, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.Events.FetchStreamAsync(stream, token: ct);
    }

    /// <summary>The stream with, for each event, the rule-book version that decided it (null before versions were recorded).</summary>
    public async Task<IReadOnlyList<(IWorkflowEvent Event, int? RulesVersion)>> ReadWithRulesAsync(MergeRequestKey key, CancellationToken ct = default)
    {
        var events = await ReadStreamAsync(key.StreamKey, ct);
        return [.. events.Select(e => ((IWorkflowEvent)e.Data, WorkflowRules.VersionOf(e.CausationId)))];
    }

    public async Task<IReadOnlyList<RecordedEvent>> ReadRecordedAsync(MergeRequestKey key, CancellationToken cancellationToken = default)
    {
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(key.StreamKey, token: cancellationToken);
        var serializer = store.Options.Serializer();
        return [.. events.Select(e => new RecordedEvent(e.Version, e.EventTypeName, ((IWorkflowEvent)e.Data).At, serializer.ToJson(e.Data)))];
    }

    /// <summary>
    /// Appends the events if the stream is still at the expected version, remembering the delivery that caused
    /// them in the same commit. A retry of an append that already landed (the commit went through but its answer
    /// was lost) finds its own events at that position and is <see cref="WriteOutcome.Written"/>, not written twice;
    /// a delivery already applied to this stream is <see cref="WriteOutcome.Duplicate"/>, and nothing is written.
    /// </summary>
    public Task<WriteOutcome> AppendAsync(StreamAppend append) =>
        append.Events.Count == 0 && append.Delivery is null ? Task.FromResult(WriteOutcome.Written) : CommitAsync(append);

    /// <summary>Appends with no delivery attached: false when someone else appended first.</summary>
    public async Task<bool> AppendAsync(MergeRequestKey key, int expectedVersion, IReadOnlyList<IWorkflowEvent> events,
        CancellationToken cancellationToken = default) =>
        await AppendAsync(new StreamAppend(key, expectedVersion, events)) == WriteOutcome.Written;

    /// <summary>Remembers a delivery that caused no event, batched with the appends; false when it was seen before.</summary>
    public async Task<bool> RememberAsync(string delivery, string stream) =>
        await CommitAsync(new DeliveryOnly(delivery, stream)) == WriteOutcome.Written;

    private async Task<WriteOutcome> CommitAsync(JournalWrite write)
    {
        var start = Stopwatch.GetTimestamp();
        var outcome = await commits.SubmitAsync(write);
        Telemetry.OrchestratorTelemetry.JournalCommitWait.Record(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        return outcome;
    }

    /// <summary>One write in a transaction of its own, after its batch failed: here a version conflict is its alone.</summary>
    private async Task<WriteOutcome> WriteAloneAsync(JournalBatch batch, JournalWrite write, CancellationToken ct)
    {
        try
        {
            return (await batch.WriteAsync([write], ct))[0];
        }
        catch (Exception e) when (write is StreamAppend append && IsVersionConflict(e))
        {
            return await AlreadyAppendedAsync(append, ct) ? WriteOutcome.Written : WriteOutcome.Conflict;
        }
    }

    private async Task<bool> AlreadyAppendedAsync(StreamAppend append, CancellationToken cancellationToken)
    {
        var (key, expectedVersion, events) = (append.Key, append.ExpectedVersion, append.Events);
        await using var session = store.QuerySession();
        var stored = await session.Events.FetchStreamAsync(
            key.StreamKey, version: expectedVersion + events.Count, fromVersion: expectedVersion + 1, token: cancellationToken);
        if (stored.Count != events.Count) return false;
        // Events carry their decision time to the tick, so equal bodies at the same positions are our own write.
        return stored.Zip(events).All(pair =>
            pair.First.Data.GetType() == pair.Second.GetType()
            && JsonSerializer.Serialize(pair.First.Data, pair.Second.GetType()) == JsonSerializer.Serialize(pair.Second, pair.Second.GetType()));
    }

    /// <summary>
    /// Only the stream's own constraints (one event per stream and version, one stream per id) mean someone else
    /// appended; deliveries never raise here (they are inserted with "on conflict do nothing" and told apart first).
    /// </summary>
    private static bool IsVersionConflict(Exception e) => e switch
    {
        ConcurrencyException or JasperFx.Events.ExistingStreamIdCollisionException
            or Marten.Exceptions.ExistingStreamIdCollisionException => true,
        MartenCommandException { InnerException: PostgresException p } => IsStreamConstraint(p),
        PostgresException p => IsStreamConstraint(p),
        _ => false,
    };

    private static bool IsStreamConstraint(PostgresException p) =>
        p.SqlState == PostgresErrorCodes.UniqueViolation && p.TableName is "mt_events" or "mt_streams";

    public async ValueTask DisposeAsync()
    {
        await commits.DisposeAsync();
        await reads.DisposeAsync();
    }
}
