using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Orleans.Configuration;

namespace Orchestrator.Persistence;

/// <summary>
/// Orleans reminders kept in PostgreSQL, so a workflow waiting on an hour-long build is woken after
/// a restart with no outside call. The project owns this schema; Orleans ships no PostgreSQL scripts.
/// </summary>
public sealed class PostgresReminderTable(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster, PostgresSchema schema)
    : IReminderTable
{
    private readonly string serviceId = cluster.Value.ServiceId;
    private string Table => $"{schema.Name}.orleans_reminders";

    public async Task StartAsync(CancellationToken cancellationToken = default) =>
        await schema.EnsureAsync(dataSource, cancellationToken);

    public async Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select grain_id, reminder_name, start_time, period_ms, etag from {Table} where service_id = $1 and grain_id = $2");
        cmd.Parameters.AddWithValue(serviceId);
        cmd.Parameters.AddWithValue(grainId.ToString());
        return await ReadAll(cmd);
    }

    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // Orleans' ring ranges are (begin, end]; begin >= end means the range wraps past uint.MaxValue.
        var where = begin < end ? "grain_hash > $2 and grain_hash <= $3" : "(grain_hash > $2 or grain_hash <= $3)";
        await using var cmd = dataSource.CreateCommand(
            $"select grain_id, reminder_name, start_time, period_ms, etag from {Table} where service_id = $1 and {where}");
        cmd.Parameters.AddWithValue(serviceId);
        cmd.Parameters.AddWithValue((long)begin);
        cmd.Parameters.AddWithValue((long)end);
        return await ReadAll(cmd);
    }

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select grain_id, reminder_name, start_time, period_ms, etag from {Table} " +
            "where service_id = $1 and grain_id = $2 and reminder_name = $3");
        cmd.Parameters.AddWithValue(serviceId);
        cmd.Parameters.AddWithValue(grainId.ToString());
        cmd.Parameters.AddWithValue(reminderName);
        var rows = await ReadAll(cmd);
        return rows.Reminders.FirstOrDefault();
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        var etag = Guid.NewGuid().ToString("N");
        await using var cmd = dataSource.CreateCommand(
            $"insert into {Table} (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, etag) " +
            "values ($1, $2, $3, $4, $5, $6, $7) on conflict (service_id, grain_id, reminder_name) do update set " +
            "start_time = excluded.start_time, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash, etag = excluded.etag");
        cmd.Parameters.AddWithValue(serviceId);
        cmd.Parameters.AddWithValue(entry.GrainId.ToString());
        cmd.Parameters.AddWithValue(entry.ReminderName);
        cmd.Parameters.AddWithValue(NpgsqlDbType.TimestampTz, DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc));
        cmd.Parameters.AddWithValue((long)entry.Period.TotalMilliseconds);
        cmd.Parameters.AddWithValue((long)entry.GrainId.GetUniformHashCode());
        cmd.Parameters.AddWithValue(etag);
        await cmd.ExecuteNonQueryAsync();
        return etag;
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        await using var cmd = dataSource.CreateCommand(
            $"delete from {Table} where service_id = $1 and grain_id = $2 and reminder_name = $3 and etag = $4");
        cmd.Parameters.AddWithValue(serviceId);
        cmd.Parameters.AddWithValue(grainId.ToString());
        cmd.Parameters.AddWithValue(reminderName);
        cmd.Parameters.AddWithValue(eTag);
        return await cmd.ExecuteNonQueryAsync() == 1;
    }

    public async Task TestOnlyClearTable()
    {
        await using var cmd = dataSource.CreateCommand($"delete from {Table} where service_id = $1");
        cmd.Parameters.AddWithValue(serviceId);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<ReminderTableData> ReadAll(NpgsqlCommand cmd)
    {
        var entries = new List<ReminderEntry>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc),
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetString(4),
            });
        }
        return new ReminderTableData(entries);
    }
}
