using Npgsql;

namespace Orchestrator.Persistence;

/// <summary>Deliveries already applied, by GitLab's Idempotency-Key (or event UUID): durable, so a redelivery after a restart is still a duplicate.</summary>
public sealed class WebhookDeliveries(NpgsqlDataSource dataSource, PostgresSchema schema)
{
    public async Task<bool> SeenAsync(string key, CancellationToken ct = default)
    {
        await schema.EnsureAsync(dataSource, ct);
        await using var cmd = dataSource.CreateCommand($"select 1 from {schema.Name}.webhook_deliveries where delivery_key = $1");
        cmd.Parameters.AddWithValue(key);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    /// <summary>Records an applied delivery; false when it was recorded already (a duplicate raced this one).</summary>
    public async Task<bool> RecordAsync(string key, string eventName, long project, CancellationToken ct = default)
    {
        await schema.EnsureAsync(dataSource, ct);
        await using var cmd = dataSource.CreateCommand(
            $"insert into {schema.Name}.webhook_deliveries (delivery_key, event, project_id) values ($1, $2, $3) on conflict do nothing");
        cmd.Parameters.AddWithValue(key);
        cmd.Parameters.AddWithValue(eventName);
        cmd.Parameters.AddWithValue(project);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<long> CountAsync(CancellationToken ct = default)
    {
        await schema.EnsureAsync(dataSource, ct);
        await using var cmd = dataSource.CreateCommand($"select count(*) from {schema.Name}.webhook_deliveries");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
