extern alias sandbox;

using System.Text.Json;
using System.Text.Json.Nodes;
using Marten;
using Npgsql;
using Orchestrator.Bench;
using Orchestrator.Bench.Simulation;
using Orchestrator.Bench.Workload;
using Orchestrator.Persistence;

// bench/run.sh drives these commands; each section writes its figures to <parts>/<section>.json, and `report`
// gathers them with the machine's description into one JSON document and a table.
//   eventstore --parts DIR [--quick]        append rate and replay time as streams grow (PostgreSQL)
//   workflows  --parts DIR --silo DLL [--quick]   overhead vs the baseline, scale, rebuild economy, resume (sandbox + silo process)
//   ceiling    --port N --secret S          the bare ASP.NET Core webhook endpoint (the intake's ceiling)
//   report     --parts DIR --out FILE       one JSON document and a table
//   simulate   [--hours H] [--seed N] [--overhead-from FILE] [--no-replay]   train strategies on synthetic streams (bench/simulate.sh)
var command = args.FirstOrDefault() ?? "";
string Option(string name) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? throw new ArgumentException($"{command}: {name} is required");
var quick = args.Contains("--quick");
var json = new JsonSerializerOptions { WriteIndented = true };

async Task Write(string section, JsonObject figures)
{
    Directory.CreateDirectory(Option("--parts"));
    await File.WriteAllTextAsync(Path.Combine(Option("--parts"), section + ".json"), figures.ToJsonString(json));
}

string Connection() => Environment.GetEnvironmentVariable("Orchestrator__Postgres__ConnectionString")
    ?? throw new InvalidOperationException("Orchestrator__Postgres__ConnectionString is not set: run bench/run.sh");

switch (command)
{
    case "eventstore":
    {
        var schema = PostgresSchema.Unique("bench");
        await using var dataSource = NpgsqlDataSource.Create(Connection());
        await using var store = DocumentStore.For(o => MartenSetup.Configure(o, dataSource, schema));
        try
        {
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            await using var journal = new WorkflowJournal(store, dataSource, new PostgresSchema(schema));
            await Write("eventstore", await EventStoreBench.RunAsync(journal, quick));
        }
        finally
        {
            await using var drop = dataSource.CreateCommand($"drop schema if exists {schema} cascade");
            await drop.ExecuteNonQueryAsync();
        }
        break;
    }
    case "workflows":
    {
        await using var dataSource = NpgsqlDataSource.Create(Connection());
        await using var sandbox = await SandboxHost.StartAsync();
        await using var ctx = new BenchContext(sandbox, dataSource, Connection(), Path.GetFullPath(Option("--silo")));
        // --only overhead,scale,economy,resume runs a subset (for working on one figure); the report takes whatever is there.
        var only = args.Contains("--only") ? Option("--only").Split(',') : ["overhead", "scale", "economy", "trains", "resume"];
        if (only.Contains("overhead"))
        {
            ctx.Progress("overhead per MR: orchestrator vs the marge-bot-style baseline");
            await Write("overhead", await OverheadBench.RunAsync(ctx, mrs: quick ? 2 : 8, pipelineSeconds: quick ? 2 : 3));
        }
        if (only.Contains("scale"))
        {
            ctx.Progress("scale");
            await Write("scale", quick ? await ScaleBench.RunAsync(ctx, projects: 2, mrsPerProject: 2, pipelineSeconds: 1)
                                       : await ScaleBench.RunAsync(ctx, projects: 20, mrsPerProject: 5, pipelineSeconds: 1));
        }
        if (only.Contains("economy"))
        {
            ctx.Progress("rebuild economy");
            await Write("economy", await EconomyBench.RunAsync(ctx, rounds: quick ? 1 : 2));
        }
        if (only.Contains("trains"))
        {
            ctx.Progress("merge train vs serial, and the simulator's prediction");
            await Write("trains", quick ? await TrainBench.RunAsync(ctx, mrs: 8, pipelineSeconds: 2, depth: 4)
                                        : await TrainBench.RunAsync(ctx, mrs: 30, pipelineSeconds: 3, depth: 4));
        }
        // Each project's hook carries its own secret; any refused delivery would mean the figures rode on the poll.
        var (accepted, refused, failed) = await sandbox.DeliveriesAsync();
        ctx.Progress($"webhooks from the sandbox: {accepted} accepted, {refused} refused (4xx), {failed} failed");
        await Write("sandbox_hooks", new JsonObject { ["accepted"] = accepted, ["refused"] = refused, ["failed"] = failed });
        // After the count: deliveries to the killed process fail, which says nothing about the figures above.
        if (only.Contains("resume"))
        {
            ctx.Progress("resume after a restart");
            await Write("resume", await ResumeBench.RunAsync(ctx, rounds: quick ? 1 : 3));
        }
        break;
    }
    case "ceiling":
        await Ceiling.RunAsync(int.Parse(Option("--port")), Option("--secret"));
        break;
    case "report":
        await Report.WriteAsync(Option("--parts"), Option("--out"));
        break;
    case "simulate":
        return Simulate.Run(args);
    default:
        Console.Error.WriteLine("usage: Orchestrator.Bench eventstore|workflows|ceiling|report|simulate … (see bench/run.sh)");
        return 2;
}
return 0;
