using System.Text.Json.Nodes;
using Marten;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.IntegrationTests.Workflow;
using Orchestrator.Persistence;

namespace Orchestrator.IntegrationTests.Faults;

public sealed partial class SiloKillTests
{
    /// <summary>
    /// One kill test's world: a project seeded for it, the silo processes it starts, and its merge requests' streams as
    /// PostgreSQL holds them. Disposed, it clears the sandbox's faults and kills every silo it started, dead or alive.
    /// </summary>
    private sealed class KillRun(SiloKillTests tests, SandboxFixture sandbox, JsonNode seed, DocumentStore store, WorkflowJournal journal) : IAsyncDisposable
    {
        private readonly List<SiloProcess> silos = [];

        public JsonNode Seed => seed;
        public WorkflowHarness Harness { get; } = new() { Cluster = null!, Seed = seed, Sandbox = sandbox };
        public WorkflowJournal Journal => journal;

        /// <summary>Where the first silo listens (and a restarted one, in its place).</summary>
        public string Url { get; } = $"http://127.0.0.1:{Ports.Free()}";

        public SiloProcess Start(string? url = null, Dictionary<string, string>? settings = null, string? connection = null)
        {
            var silo = tests.StartSilo(seed, url ?? Url, settings, connection);
            silos.Add(silo);
            return silo;
        }

        /// <summary>The orchestrator's REST API at <paramref name="url"/> (the first silo's by default), as the test's admin token.</summary>
        public HttpClient Api(string? url = null)
        {
            var api = new HttpClient { BaseAddress = new Uri(url ?? Url) };
            api.DefaultRequestHeaders.Authorization = new("Bearer", ApiToken);
            return api;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Harness.Faults(new { });
            }
            finally
            {
                foreach (var silo in silos) silo.Kill();
                await journal.DisposeAsync();
                await store.DisposeAsync();
            }
        }
    }

    /// <param name="dataSource">The database the silos use, if not the test schema's usual one.</param>
    private async Task<KillRun> BeginAsync(string name, NpgsqlDataSource? dataSource = null)
    {
        var seed = await sandbox.SeedIncidentAsync(name);
        var source = dataSource ?? db.DataSource;
        var store = DocumentStore.For(o => MartenSetup.Configure(o, source, db.Schema));
        return new KillRun(this, sandbox, seed, store, new WorkflowJournal(store, source, new PostgresSchema(db.Schema)));
    }
}
