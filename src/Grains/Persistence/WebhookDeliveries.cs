using Npgsql;

namespace Orchestrator.Persistence;

/// <summary>
/// GitLab deliveries already answered, by Idempotency-Key (or event UUID), durable so that a redelivery after a
/// restart is still a duplicate. Deliveries that caused events are remembered by the journal in the commit of those
/// events and kept as long as the stream; those that caused none are remembered here, batched with the journal's
/// writes, and kept for <c>Webhooks:DeliveryKeyRetention</c>.
/// </summary>
/// <remarks>
/// In front of the table, each process keeps the keys of the last <see cref="RecentCapacity"/> deliveries it answered
/// once their outcome was durable, so that a redelivery it answered itself is told a duplicate before any routing, grain
/// or commit. The table stays the authority: a key this process has not answered (or has forgotten, or another silo
/// answered) goes the whole way and is recognised where the facts are stored.
/// </remarks>
public sealed class WebhookDeliveries(WorkflowJournal journal, NpgsqlDataSource dataSource, PostgresSchema schema)
{
    /// <summary>How many answered keys each process remembers in memory (about 100 bytes each).</summary>
    public const int RecentCapacity = 100_000;

    private readonly RecentKeys answered = new(RecentCapacity);

    /// <summary>Whether this process answered the delivery already, its outcome durable (false says nothing).</summary>
    public bool AnsweredHere(string key) => answered.Contains(key);

    /// <summary>The delivery was answered and what it did (or that it was a duplicate) is durable.</summary>
    public void Answered(string key) => answered.Add(key);

    /// <summary>Remembers a delivery that caused no event, for the stream it touched ("" for none); false when it was seen before.</summary>
    public Task<bool> RememberAsync(string key, string? stream) => journal.RememberAsync(key, stream ?? "");

    public async Task<long> CountAsync(CancellationToken ct = default)
    {
        await schema.EnsureAsync(dataSource, ct);
        await using var cmd = dataSource.CreateCommand($"select count(*) from {schema.Name}.webhook_deliveries");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Forgets deliveries that caused no event and arrived before <paramref name="before"/>; how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken ct = default)
    {
        await schema.EnsureAsync(dataSource, ct);
        await using var cmd = dataSource.CreateCommand(
            $"delete from {schema.Name}.webhook_deliveries where not caused_events and received_at < $1");
        cmd.Parameters.AddWithValue(before);
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
