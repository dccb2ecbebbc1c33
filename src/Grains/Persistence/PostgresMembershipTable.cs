using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;

namespace Orchestrator.Persistence;

/// <summary>
/// Orleans cluster membership in PostgreSQL, for several silos on one database. Honours the table's contract:
/// every write of a row also moves the table version, and succeeds only if the version (by its etag) and the
/// row's etag are still what the writer read; a lost race answers false and Orleans reads and tries again.
/// Entries are stored as Orleans-serialized blobs beside the columns the cleanup needs.
/// </summary>
public sealed class PostgresMembershipTable(NpgsqlDataSource dataSource, PostgresSchema schema, IOptions<ClusterOptions> cluster, Serializer serializer)
    : IMembershipTable
{
    private readonly string clusterId = cluster.Value.ClusterId;
    private string Versions => $"{schema.Name}.orleans_membership_version";
    private string Members => $"{schema.Name}.orleans_membership";

    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        await schema.EnsureAsync(dataSource);
        await using var cmd = dataSource.CreateCommand($"insert into {Versions} (cluster_id, version, etag) values ($1, 0, $2) on conflict do nothing");
        cmd.Parameters.AddWithValue(clusterId);
        cmd.Parameters.AddWithValue(NewEtag());
        await cmd.ExecuteNonQueryAsync();
    }

    public Task<MembershipTableData> ReadAll() => ReadAsync(null);

    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadAsync(key);

    private async Task<MembershipTableData> ReadAsync(SiloAddress? only)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
        TableVersion version;
        await using (var v = new NpgsqlCommand($"select version, etag from {Versions} where cluster_id = $1", connection, tx))
        {
            v.Parameters.AddWithValue(clusterId);
            await using var r = await v.ExecuteReaderAsync();
            version = await r.ReadAsync() ? new TableVersion(r.GetInt32(0), r.GetString(1)) : new TableVersion(0, "");
        }
        var rows = new List<Tuple<MembershipEntry, string>>();
        await using (var m = new NpgsqlCommand(
            $"select entry, etag from {Members} where cluster_id = $1" + (only is null ? "" : " and silo = $2"), connection, tx))
        {
            m.Parameters.AddWithValue(clusterId);
            if (only is not null) m.Parameters.AddWithValue(only.ToParsableString());
            await using var r = await m.ExecuteReaderAsync();
            while (await r.ReadAsync()) rows.Add(Tuple.Create(serializer.Deserialize<MembershipEntry>((byte[])r[0])!, r.GetString(1)));
        }
        await tx.CommitAsync();
        return new MembershipTableData(rows, version);
    }

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) =>
        WriteAsync(tableVersion, $"insert into {Members} (cluster_id, silo, entry, etag, status, i_am_alive) values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
            entry, expectedEtag: null);

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) =>
        WriteAsync(tableVersion, $"update {Members} set entry = $3, etag = $4, status = $5, i_am_alive = $6 where cluster_id = $1 and silo = $2 and etag = $7",
            entry, etag);

    private async Task<bool> WriteAsync(TableVersion tableVersion, string sql, MembershipEntry entry, string? expectedEtag)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        // The new version must follow the one the writer read, identified by that version's etag.
        await using (var v = new NpgsqlCommand($"update {Versions} set version = $2, etag = $3 where cluster_id = $1 and version = $4 and etag = $5", connection, tx))
        {
            v.Parameters.AddWithValue(clusterId);
            v.Parameters.AddWithValue(tableVersion.Version);
            v.Parameters.AddWithValue(NewEtag());
            v.Parameters.AddWithValue(tableVersion.Version - 1);
            v.Parameters.AddWithValue(tableVersion.VersionEtag);
            if (await v.ExecuteNonQueryAsync() != 1) return false;
        }
        await using (var m = new NpgsqlCommand(sql, connection, tx))
        {
            m.Parameters.AddWithValue(clusterId);
            m.Parameters.AddWithValue(entry.SiloAddress.ToParsableString());
            m.Parameters.AddWithValue(serializer.SerializeToArray(entry));
            m.Parameters.AddWithValue(NewEtag());
            m.Parameters.AddWithValue((int)entry.Status);
            m.Parameters.AddWithValue(entry.IAmAliveTime.ToUniversalTime());
            if (expectedEtag is not null) m.Parameters.AddWithValue(expectedEtag);
            if (await m.ExecuteNonQueryAsync() != 1) return false;
        }
        await tx.CommitAsync();
        return true;
    }

    public async Task UpdateIAmAlive(MembershipEntry entry)
    {
        // Liveness only: no version change, no etag change, as the contract allows.
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        byte[]? blob;
        await using (var read = new NpgsqlCommand($"select entry from {Members} where cluster_id = $1 and silo = $2 for update", connection, tx))
        {
            read.Parameters.AddWithValue(clusterId);
            read.Parameters.AddWithValue(entry.SiloAddress.ToParsableString());
            blob = await read.ExecuteScalarAsync() as byte[];
        }
        if (blob is null) return;
        var stored = serializer.Deserialize<MembershipEntry>(blob)!;
        stored.IAmAliveTime = entry.IAmAliveTime;
        await using (var write = new NpgsqlCommand($"update {Members} set entry = $3, i_am_alive = $4 where cluster_id = $1 and silo = $2", connection, tx))
        {
            write.Parameters.AddWithValue(clusterId);
            write.Parameters.AddWithValue(entry.SiloAddress.ToParsableString());
            write.Parameters.AddWithValue(serializer.SerializeToArray(stored));
            write.Parameters.AddWithValue(entry.IAmAliveTime.ToUniversalTime());
            await write.ExecuteNonQueryAsync();
        }
        await tx.CommitAsync();
    }

    public async Task DeleteMembershipTableEntries(string clusterId)
    {
        await using var cmd = dataSource.CreateCommand($"delete from {Members} where cluster_id = $1; delete from {Versions} where cluster_id = $1");
        cmd.Parameters.AddWithValue(clusterId);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        await using var cmd = dataSource.CreateCommand($"delete from {Members} where cluster_id = $1 and status = $2 and i_am_alive < $3");
        cmd.Parameters.AddWithValue(clusterId);
        cmd.Parameters.AddWithValue((int)SiloStatus.Dead);
        cmd.Parameters.AddWithValue(beforeDate.UtcDateTime);
        await cmd.ExecuteNonQueryAsync();
    }

    private static string NewEtag() => Guid.NewGuid().ToString("N");
}
