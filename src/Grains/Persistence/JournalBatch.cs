using Marten;
using Marten.Events;
using Npgsql;
using NpgsqlTypes;

namespace Orchestrator.Persistence;

/// <summary>A stream as stored: its version (0 before its first event) and its events, oldest first.</summary>
public sealed record StoredStream(int Version, IReadOnlyList<Domain.IWorkflowEvent> Events)
{
    public static readonly StoredStream None = new(0, []);
}

/// <summary>
/// Writes a batch of journal writes in one statement, so one round trip and one commit serve them all: the writes
/// whose delivery is new pass the stream's version guard (a new stream is inserted, an existing one moves on only from
/// the version its writer read), then their events, summaries and deliveries are inserted together, each kind with
/// one set-based insert, and the statement's implicit transaction commits before its answer is read to the end.
/// A write whose guard fails writes nothing and reaches only its own caller; a write whose delivery is already known
/// is told apart after the commit as our own earlier write (its events are in place) or a duplicate delivery.
/// It also reads many streams in one round trip, for the grains that activate at once.
/// </summary>
/// <remarks>
/// Events and summaries go into Marten's own tables as Marten's quick append and upsert write them (the same columns,
/// the same serializer, the type names mapped in <see cref="MartenSetup"/>), and Marten reads them back; its tables are
/// created by Marten before the first write.
/// </remarks>
internal sealed class JournalBatch(IDocumentStore store, NpgsqlDataSource dataSource, PostgresSchema schema,
    Func<StreamAppend, CancellationToken, Task<bool>> alreadyAppended)
{
    private readonly string statement = Statement(schema.Name);
    private static readonly string SummaryType = typeof(MergeRequestSummary).FullName!;
    private int storageReady;

    public async Task<IReadOnlyList<WriteOutcome>> WriteAsync(IReadOnlyList<JournalWrite> writes, CancellationToken ct)
    {
        await EnsureStorageAsync(ct);
        var serializer = store.Options.Serializer();
        var rows = new Rows(writes.Count);
        // The same delivery twice for one stream is new only the first time: the later ones are not sent.
        var firsts = new HashSet<(string, string)>();
        var appended = new HashSet<string>();
        var sent = new int[writes.Count]; // each write's position in the statement, 0 for one not sent
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            if (write.Delivery is { } key && !firsts.Add((key, write.Stream))) continue;
            var append = write as StreamAppend;
            // One writer per stream: two appends to one stream in one batch would pass one guard twice.
            if (append is { Events.Count: > 0 } && !appended.Add(write.Stream))
                throw new InvalidOperationException($"two appends to {write.Stream} in one batch");
            sent[i] = rows.Add(write.Delivery, write.Stream, append?.ExpectedVersion ?? 0, append?.Events.Count ?? 0,
                append?.Summary is { } summary ? (summary.Id, serializer.ToJson(summary)) : null);
            if (append is null) continue;
            for (var n = 0; n < append.Events.Count; n++) rows.AddEvent(sent[i], n + 1, append.Events[n], serializer.ToJson(append.Events[n]));
        }

        var answers = await ExecuteAsync(rows, ct);
        var outcomes = new WriteOutcome[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            var answer = sent[i] == 0 ? default : answers[sent[i] - 1];
            outcomes[i] = (writes[i], answer) switch
            {
                // Known before (or repeated in this batch): our own earlier append, or a delivery applied already.
                (StreamAppend append, { Fresh: false }) => await alreadyAppended(append, ct) ? WriteOutcome.Written : WriteOutcome.Duplicate,
                (_, { Fresh: false }) => WriteOutcome.Duplicate,
                // The stream had moved on: someone else appended first, unless it was this very append, retried.
                (StreamAppend append, { Applied: false }) => await alreadyAppended(append, ct) ? WriteOutcome.Written : WriteOutcome.Conflict,
                // Only a delivery to remember, and another transaction remembered it first.
                (DeliveryOnly, { Remembered: false }) => WriteOutcome.Duplicate,
                _ => WriteOutcome.Written,
            };
        }
        return outcomes;
    }

    /// <summary>
    /// Many streams in one round trip, each as its version and its events in order (version 0 and none for a stream not
    /// started): how the grains of new merge requests read their streams on activation, many at once. Each stream is
    /// Marten's own read of it (one indexed lookup by stream, in sequence order), from the same rows.
    /// </summary>
    public async Task<IReadOnlyList<StoredStream>> ReadAsync(IReadOnlyList<string> streams, CancellationToken ct)
    {
        await EnsureStorageAsync(ct);
        var serializer = store.Options.Serializer();
        var read = new StoredStream[streams.Count];
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var stream in streams)
        {
            var command = new NpgsqlBatchCommand(readStatement);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream, NpgsqlDbType = NpgsqlDbType.Varchar });
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        for (var i = 0; i < streams.Count; i++)
        {
            var events = new List<Domain.IWorkflowEvent>();
            var version = 0L;
            while (await reader.ReadAsync(ct))
            {
                var type = EventTypes.TryGetValue(reader.GetString(1), out var t) ? t
                    : throw new InvalidOperationException($"{streams[i]} holds an event of unknown type '{reader.GetString(1)}'");
                version = reader.GetInt64(0);
                events.Add((Domain.IWorkflowEvent)serializer.FromJson(type, reader, 2));
            }
            read[i] = events.Count == 0 ? StoredStream.None : new StoredStream(checked((int)version), events);
            await reader.NextResultAsync(ct);
        }
        return read;
    }

    private static readonly Dictionary<string, Type> EventTypes = Domain.WorkflowEventNames.All.ToDictionary(e => e.Value, e => e.Key);

    private readonly string readStatement =
        $"select version, type, data from {schema.Name}.mt_events where stream_id = $1 and not is_archived order by seq_id";

    /// <summary>
    /// Marten creates (or updates) its event and summary tables on its first use; the batch may come first. One caller at a
    /// time: the first reads and writes after a start (a burst of deliveries) come together, and PostgreSQL refuses one of
    /// two concurrent creations of a table (a duplicate type name), which failed the batches that ran it.
    /// </summary>
    private async Task EnsureStorageAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref storageReady) == 1) return;
        await storageGate.WaitAsync(ct);
        try
        {
            if (Volatile.Read(ref storageReady) == 1) return;
            await schema.EnsureAsync(dataSource, ct);
            await store.Storage.Database.EnsureStorageExistsAsync(typeof(JasperFx.Events.StreamAction), ct);
            await store.Storage.Database.EnsureStorageExistsAsync(typeof(MergeRequestSummary), ct);
            Volatile.Write(ref storageReady, 1);
        }
        finally
        {
            storageGate.Release();
        }
    }

    private readonly SemaphoreSlim storageGate = new(1, 1);

    private readonly record struct Answer(bool Fresh, bool Applied, bool Remembered);

    private async Task<Answer[]> ExecuteAsync(Rows rows, CancellationToken ct)
    {
        var answers = new Answer[rows.Count];
        if (rows.Count == 0) return answers;
        await using var command = dataSource.CreateCommand(statement);
        rows.Bind(command.Parameters, Domain.WorkflowRules.Tag, SummaryType);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            answers[reader.GetInt32(0) - 1] = new Answer(reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3));
        // The statement's implicit transaction commits before PostgreSQL says it is ready again: closing the reader waits
        // for that, so nothing is answered before the batch is durable (an error at commit throws here).
        await reader.CloseAsync();
        return answers;
    }

    /// <summary>The statement's arrays: one element per write sent ($1–$6), one per event ($7–$12).</summary>
    private sealed class Rows(int capacity)
    {
        private readonly List<string?> deliveries = new(capacity);
        private readonly List<string> streams = new(capacity);
        private readonly List<long> expected = new(capacity);
        private readonly List<int> counts = new(capacity);
        private readonly List<string?> summaryIds = new(capacity);
        private readonly List<string?> summaries = new(capacity);
        private readonly List<int> eventWrites = new(capacity);
        private readonly List<int> eventPositions = new(capacity);
        private readonly List<Guid> eventIds = new(capacity);
        private readonly List<string> eventData = new(capacity);
        private readonly List<string> eventTypes = new(capacity);
        private readonly List<string> eventDotNetTypes = new(capacity);

        public int Count => streams.Count;

        /// <summary>The write's 1-based position, as the statement answers it.</summary>
        public int Add(string? delivery, string stream, long expectedVersion, int events, (string Id, string Json)? summary)
        {
            deliveries.Add(delivery);
            streams.Add(stream);
            expected.Add(expectedVersion);
            counts.Add(events);
            summaryIds.Add(summary?.Id);
            summaries.Add(summary?.Json);
            return streams.Count;
        }

        public void AddEvent(int write, int position, Domain.IWorkflowEvent e, string json)
        {
            eventWrites.Add(write);
            eventPositions.Add(position);
            eventIds.Add(Guid.CreateVersion7());
            eventData.Add(json);
            eventTypes.Add(Domain.WorkflowEventNames.NameOf(e));
            eventDotNetTypes.Add(DotNetTypes[e.GetType()]);
        }

        // Marten's record of each event's .NET type: "full name, assembly".
        private static readonly Dictionary<Type, string> DotNetTypes =
            Domain.WorkflowEventNames.All.Keys.ToDictionary(t => t, t => $"{t.FullName}, {t.Assembly.GetName().Name}");

        public void Bind(NpgsqlParameterCollection parameters, string causation, string summaryType)
        {
            (object Values, NpgsqlDbType Type)[] arrays =
            [
                (deliveries, NpgsqlDbType.Text), (streams, NpgsqlDbType.Text), (expected, NpgsqlDbType.Bigint), (counts, NpgsqlDbType.Integer),
                (summaryIds, NpgsqlDbType.Text), (summaries, NpgsqlDbType.Text), (eventWrites, NpgsqlDbType.Integer),
                (eventPositions, NpgsqlDbType.Integer), (eventIds, NpgsqlDbType.Uuid), (eventData, NpgsqlDbType.Text),
                (eventTypes, NpgsqlDbType.Text), (eventDotNetTypes, NpgsqlDbType.Text),
            ];
            foreach (var (values, type) in arrays) parameters.Add(new NpgsqlParameter { Value = values, NpgsqlDbType = NpgsqlDbType.Array | type });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = causation, NpgsqlDbType = NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = summaryType, NpgsqlDbType = NpgsqlDbType.Text });
        }
    }

    /// <summary>
    /// Every write's answer (its position, whether its delivery was new, whether it was applied, whether its delivery was
    /// remembered now). Data-modifying parts of one statement share its snapshot and see each other only through what they
    /// return; every one of them runs to completion. A delivery is remembered only with what it applied: a write refused
    /// by its stream's guard leaves no trace, so its delivery can be decided again.
    /// </summary>
    private static string Statement(string s) => $"""
        with w as (
            select * from unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::text[])
                with ordinality as w(delivery, stream, expected, events, summary_id, summary, i)
        ),
        fresh as (
            select w.* from w
             where w.delivery is null
                or not exists (select 1 from {s}.webhook_deliveries d where d.delivery_key = w.delivery and d.stream_id in (w.stream, ''))
        ),
        started as (
            insert into {s}.mt_streams (id, type, version, timestamp, tenant_id)
            select f.stream, null, f.events, now(), '*DEFAULT*' from fresh f where f.events > 0 and f.expected = 0
            on conflict do nothing
            returning id
        ),
        moved as (
            update {s}.mt_streams m set version = f.expected + f.events, timestamp = now()
              from fresh f
             where f.events > 0 and f.expected > 0 and m.id = f.stream and m.version = f.expected and not m.is_archived
            returning m.id
        ),
        applied as (
            select f.* from fresh f
             where f.events = 0
                or (f.expected = 0 and f.stream in (select id from started))
                or (f.expected > 0 and f.stream in (select id from moved))
        ),
        appended as (
            -- Sequence numbers in stream order: Marten reads a stream by them.
            insert into {s}.mt_events (seq_id, id, stream_id, version, data, type, tenant_id, timestamp, mt_dotnet_type, is_archived, causation_id)
            select nextval('{s}.mt_events_sequence'), x.id, x.stream, x.version, x.data, x.type, '*DEFAULT*', now(), x.dotnet, false, $13
              from (select e.id, a.stream, a.expected + e.n as version, e.data::jsonb as data, e.type, e.dotnet
                      from unnest($7::int[], $8::int[], $9::uuid[], $10::text[], $11::text[], $12::text[]) as e(i, n, id, data, type, dotnet)
                      join applied a on a.i = e.i
                     order by e.i, e.n) x
        ),
        summarized as (
            insert into {s}.mt_doc_mergerequestsummary (id, data, mt_version, mt_dotnet_type, mt_last_modified)
            select a.summary_id, a.summary::jsonb, gen_random_uuid(), $14, transaction_timestamp() from applied a where a.summary_id is not null
            on conflict (id) do update set data = excluded.data, mt_version = excluded.mt_version,
                mt_dotnet_type = excluded.mt_dotnet_type, mt_last_modified = excluded.mt_last_modified
        ),
        remembered as (
            insert into {s}.webhook_deliveries (delivery_key, stream_id, caused_events)
            select a.delivery, a.stream, a.events > 0 from applied a where a.delivery is not null
            on conflict do nothing
            returning delivery_key, stream_id
        )
        select w.i::int, f.i is not null, a.i is not null, r.delivery_key is not null
          from w
          left join fresh f on f.i = w.i
          left join applied a on a.i = w.i
          left join remembered r on r.delivery_key = w.delivery and r.stream_id = w.stream
        """;
}
