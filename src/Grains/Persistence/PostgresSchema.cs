using Npgsql;

namespace Orchestrator.Persistence;

/// <summary>The project's own tables beside Marten's, in the same schema; created on first use.</summary>
public sealed class PostgresSchema(string name)
{
    public string Name { get; } = ValidName(name);

    private int created;

    public async Task EnsureAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref created) == 1) return;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // Several silos start at once: DDL under one advisory lock, or "create … if not exists" can still collide.
        await using (var lockCmd = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext($1))", connection, tx))
        {
            lockCmd.Parameters.AddWithValue($"orchestrator-schema:{Name}");
            await lockCmd.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var ddl = new NpgsqlCommand(Ddl, connection, tx))
            await ddl.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Volatile.Write(ref created, 1);
    }

    private string Ddl => $"""
        create schema if not exists {Name};
        create table if not exists {Name}.orleans_reminders (
            service_id    text        not null,
            grain_id      text        not null,
            reminder_name text        not null,
            start_time    timestamptz not null,
            period_ms     bigint      not null,
            grain_hash    bigint      not null,
            etag          text        not null,
            primary key (service_id, grain_id, reminder_name)
        );
        create index if not exists orleans_reminders_ring on {Name}.orleans_reminders (service_id, grain_hash);
        create table if not exists {Name}.orleans_membership_version (
            cluster_id text    primary key,
            version    integer not null,
            etag       text    not null
        );
        create table if not exists {Name}.orleans_membership (
            cluster_id text        not null,
            silo       text        not null,
            entry      bytea       not null,
            etag       text        not null,
            status     integer     not null,
            i_am_alive timestamptz not null,
            primary key (cluster_id, silo)
        );
        -- GitLab deliveries by Idempotency-Key, per stream they touched ('' for none), written in the commit of the
        -- events they caused: remembering a delivery and applying it are one fact.
        create table if not exists {Name}.webhook_deliveries (
            delivery_key  text        not null,
            stream_id     text        not null default '',
            caused_events boolean     not null default false,
            received_at   timestamptz not null default now(),
            primary key (delivery_key, stream_id)
        );
        -- Tables from before keys were kept per stream: their keys become "seen, touching no stream", which the
        -- journal counts as seen for every stream.
        alter table {Name}.webhook_deliveries add column if not exists stream_id text not null default '';
        alter table {Name}.webhook_deliveries add column if not exists caused_events boolean not null default false;
        alter table {Name}.webhook_deliveries drop column if exists event;
        -- Keys are scoped to the signing project ("<project>:<key>"); a table that still has the project column gets its
        -- keys scoped before the column goes, so a delivery GitLab sends again after the upgrade is still known.
        do $$ begin
            if exists (select 1 from information_schema.columns
                       where table_schema = '{Name}' and table_name = 'webhook_deliveries' and column_name = 'project_id') then
                update {Name}.webhook_deliveries set delivery_key = project_id || ':' || delivery_key where position(':' in delivery_key) = 0;
            end if;
        end $$;
        alter table {Name}.webhook_deliveries drop column if exists project_id;
        do $$ begin
            if (select count(*) from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = '{Name}' and c.relname = 'webhook_deliveries' and i.indisprimary and i.indnatts = 1) = 1 then
                alter table {Name}.webhook_deliveries drop constraint webhook_deliveries_pkey;
                alter table {Name}.webhook_deliveries add primary key (delivery_key, stream_id);
            end if;
        end $$;
        create index if not exists webhook_deliveries_unapplied_age on {Name}.webhook_deliveries (received_at) where not caused_events;
        """;

    /// <summary>What a schema name may be, in words: it is written into SQL unquoted, so nothing that would need quoting.</summary>
    public const string NameRule = "lower-case letters, digits and underscores, not starting with a digit, under 60 characters";

    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and < 60 } && !char.IsDigit(name[0]) && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_');

    /// <summary>A fresh schema name for a store of its own (a test class, a benchmark run): the prefix, then random hex, cut to <paramref name="length"/>.</summary>
    public static string Unique(string prefix, int length = 18) => ValidName($"{prefix}_{Guid.NewGuid():N}"[..length]);

    private static string ValidName(string name) =>
        IsValidName(name) ? name : throw new ArgumentException($"'{name}' is not a schema name ({NameRule})", nameof(name));
}
