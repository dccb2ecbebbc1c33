using Npgsql;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>The real PostgreSQL that ./test.sh starts; a test without it fails, it never skips.</summary>
public static class TestPostgres
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("Orchestrator__Postgres__ConnectionString") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                "Orchestrator__Postgres__ConnectionString is not set: run the tests through ./test.sh, which starts PostgreSQL");
}

/// <summary>
/// A schema of its own for each test class (as Marten's own tests do), dropped afterwards, so classes
/// run in parallel on one database without seeing each other's streams.
/// </summary>
public sealed class SchemaFixture : IAsyncLifetime
{
    public string Schema { get; } = PostgresSchema.Unique("t");

    public NpgsqlDataSource DataSource { get; } = NpgsqlDataSource.Create(TestPostgres.ConnectionString);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task<long> CountEventsAsync()
    {
        await using var exists = DataSource.CreateCommand($"select to_regclass('{Schema}.mt_events') is not null");
        if (!(bool)(await exists.ExecuteScalarAsync())!) return 0;
        await using var count = DataSource.CreateCommand($"select count(*) from {Schema}.mt_events");
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        await using (var drop = DataSource.CreateCommand($"drop schema if exists {Schema} cascade"))
            await drop.ExecuteNonQueryAsync();
        await DataSource.DisposeAsync();
    }
}
