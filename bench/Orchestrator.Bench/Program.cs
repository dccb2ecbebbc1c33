using Marten;
using Npgsql;
using Orchestrator.Bench;
using Orchestrator.Persistence;

// Event-store figures on the real PostgreSQL that bench/run.sh starts: append rate as the grain appends
// (one decision, one optimistic append) and replay time (read + fold) as streams grow.
var connection = Environment.GetEnvironmentVariable("Orchestrator__Postgres__ConnectionString")
    ?? throw new InvalidOperationException("Orchestrator__Postgres__ConnectionString is not set: run bench/run.sh");
var quick = args.Contains("--quick");
var schema = "bench_" + Guid.NewGuid().ToString("N")[..12];
await using var dataSource = NpgsqlDataSource.Create(connection);
await using var store = DocumentStore.For(o => MartenSetup.Configure(o, dataSource, schema));
var journal = new WorkflowJournal(store);
try
{
    await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
    await EventStoreBench.WarmUp(journal);

    var appends = quick ? 500 : 2_000;
    var rate = await EventStoreBench.AppendRate(journal, streams: 20, appends);
    Console.WriteLine($"append: {appends} single-event appends over 20 streams, 1 writer: {rate.PerSecond:F0} appends/s " +
                      $"(p50 {rate.P50Ms:F2} ms, p99 {rate.P99Ms:F2} ms)");

    Console.WriteLine("replay: events | read+fold median ms | per event µs");
    foreach (var size in quick ? new[] { 10, 100, 1_000 } : [10, 100, 1_000, 10_000])
    {
        var replay = await EventStoreBench.Replay(journal, size, runs: size >= 10_000 ? 5 : 20);
        Console.WriteLine($"replay: {size,6} | {replay.MedianMs,8:F2} | {replay.MedianMs * 1000 / size,6:F1}");
    }
}
finally
{
    await using var drop = dataSource.CreateCommand($"drop schema if exists {schema} cascade");
    await drop.ExecuteNonQueryAsync();
}
