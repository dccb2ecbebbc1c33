using Npgsql;
using Orchestrator.Bench.Workload;
using Orchestrator.Persistence;

namespace Orchestrator.Bench;

/// <summary>What every section shares: the sandbox, PostgreSQL, the silo to start, and the schemas to drop afterwards.</summary>
public sealed class BenchContext(SandboxHost sandbox, NpgsqlDataSource postgres, string connection, string siloDll) : IAsyncDisposable
{
    private readonly List<string> schemas = [];

    public SandboxHost Sandbox => sandbox;

    public void Progress(string line) => Console.Error.WriteLine($"  {DateTime.Now:HH:mm:ss} {line}");

    /// <summary>
    /// A silo on a schema of its own, merging as <paramref name="botUsername"/> for <paramref name="requester"/>, serving
    /// <paramref name="projects"/> (already created: each gets its own webhook secret at start).
    /// </summary>
    public async Task<OrchestratorProcess> StartOrchestratorAsync(string name, string botUsername, string botToken, string requester,
        IEnumerable<long> projects)
    {
        var schema = PostgresSchema.Unique($"bench_{name}", 28);
        schemas.Add(schema);
        return await OrchestratorProcess.StartAsync(siloDll, connection, schema, sandbox, botUsername, botToken, requester, HookSecrets.For(projects));
    }

    /// <summary>Bytes of every table of the schema, with its indexes and TOAST.</summary>
    public async Task<long> SchemaBytesAsync(string schema)
    {
        await using var command = postgres.CreateCommand(
            "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'");
        command.Parameters.AddWithValue(schema);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var command = postgres.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async ValueTask DisposeAsync()
    {
        if (Environment.GetEnvironmentVariable("BENCH_KEEP") is { Length: > 0 }) return;
        foreach (var schema in schemas)
        {
            await using var drop = postgres.CreateCommand($"drop schema if exists {schema} cascade");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
