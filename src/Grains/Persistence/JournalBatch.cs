using Marten;
using Marten.Services;
using Npgsql;
using NpgsqlTypes;

namespace Orchestrator.Persistence;

/// <summary>
/// Writes a batch of journal writes in one transaction: first the deliveries they carry (one statement for all),
/// then the events of those whose delivery is new, with their summaries (one Marten batch), then one commit.
/// An append whose delivery is already known is not written: after the commit it is told apart as our own earlier
/// write (its events are in place) or a duplicate delivery.
/// </summary>
internal sealed class JournalBatch(IDocumentStore store, NpgsqlDataSource dataSource, PostgresSchema schema,
    Func<StreamAppend, CancellationToken, Task<bool>> alreadyAppended)
{
    public async Task<IReadOnlyList<WriteOutcome>> WriteAsync(IReadOnlyList<JournalWrite> writes, CancellationToken ct)
    {
        await schema.EnsureAsync(dataSource, ct);
        var outcomes = new WriteOutcome[writes.Count];
        var known = new List<int>();
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var tx = await connection.BeginTransactionAsync(ct))
        {
            var fresh = await RememberAsync(connection, writes, ct);
            await using var session = store.LightweightSession(SessionOptions.ForTransaction(tx, shouldAutoCommit: false));
            session.CausationId = Domain.WorkflowRules.Tag;
            for (var i = 0; i < writes.Count; i++)
            {
                if (!fresh[i])
                {
                    if (writes[i] is StreamAppend) known.Add(i);
                    else outcomes[i] = WriteOutcome.Duplicate;
                    continue;
                }
                if (writes[i] is StreamAppend append) Stage(session, append);
                outcomes[i] = WriteOutcome.Written;
            }
            await session.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        foreach (var i in known)
            outcomes[i] = await alreadyAppended((StreamAppend)writes[i], ct) ? WriteOutcome.Written : WriteOutcome.Duplicate;
        return outcomes;
    }

    private static void Stage(IDocumentSession session, StreamAppend append)
    {
        if (append.Events.Count == 0) return;
        if (append.ExpectedVersion == 0)
            session.Events.StartStream(append.Key.StreamKey, append.Events.Cast<object>());
        else
            // Marten wants the version the stream will have after this append.
            session.Events.Append(append.Key.StreamKey, append.ExpectedVersion + append.Events.Count, append.Events.Cast<object>());
        if (append.Summary is { } summary) session.Store(summary);
    }

    /// <summary>
    /// Records each write's delivery for its stream; per write, whether it was new (writes without a delivery are).
    /// A delivery recorded as touching no stream ("") counts as known for every stream: it was answered already.
    /// The same delivery twice in one batch is new only the first time.
    /// </summary>
    private async Task<bool[]> RememberAsync(NpgsqlConnection connection, IReadOnlyList<JournalWrite> writes, CancellationToken ct)
    {
        var fresh = new bool[writes.Count];
        var first = new Dictionary<(string, string), int>();
        for (var i = 0; i < writes.Count; i++)
            if (writes[i].Delivery is not { } key) fresh[i] = true;
            else first.TryAdd((key, writes[i].Stream), i);
        if (first.Count == 0) return fresh;
        await using var insert = new NpgsqlCommand($"""
            insert into {schema.Name}.webhook_deliveries (delivery_key, stream_id, caused_events)
            select n.delivery_key, n.stream_id, n.caused_events
              from unnest($1::text[], $2::text[], $3::boolean[]) as n(delivery_key, stream_id, caused_events)
             where not exists (select 1 from {schema.Name}.webhook_deliveries d where d.delivery_key = n.delivery_key and d.stream_id = '')
            on conflict do nothing
            returning delivery_key, stream_id
            """, connection);
        var pairs = first.Keys.ToArray();
        insert.Parameters.Add(new NpgsqlParameter { Value = pairs.Select(p => p.Item1).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = pairs.Select(p => p.Item2).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter
        {
            Value = pairs.Select(p => writes[first[p]] is StreamAppend { Events.Count: > 0 }).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean,
        });
        await using var reader = await insert.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) fresh[first[(reader.GetString(0), reader.GetString(1))]] = true;
        return fresh;
    }
}
