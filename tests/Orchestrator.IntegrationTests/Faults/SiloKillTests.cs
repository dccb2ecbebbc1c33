using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Marten;
using Orchestrator.Api.Security;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.IntegrationTests.Workflow;
using Orchestrator.Persistence;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Faults;

/// <summary>
/// The orchestrator as a real process, killed with SIGKILL while a merge request waits on its build; a new process,
/// given no API call at all, must finish the merge — one pipeline, one note, no event lost or repeated.
/// </summary>
[Trait("Category", "Fault")]
public sealed partial class SiloKillTests(SchemaFixture db, SandboxFixture sandbox, ITestOutputHelper output)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private const string ApiToken = "fault-test-admin-token";
    // The seeded upstream's own webhook secret, made for this run.
    private readonly string HookSecret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));


    private SiloProcess StartSilo(JsonNode seed, string url, Dictionary<string, string>? cluster = null, string? connection = null)
    {
        var bot = seed["users"]!["bot"]!;
        var env = new Dictionary<string, string>
        {
            ["Orchestrator__Postgres__ConnectionString"] = connection ?? TestPostgres.ConnectionString,
            ["Orchestrator__Postgres__Schema"] = db.Schema,
            ["Orchestrator__Cluster__ServiceId"] = "svc-fault-kill",
            ["Orchestrator__GitLab__BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator__GitLab__BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator__GitLab__BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator__Registry__Url"] = sandbox.RegistryUrl,
            ["Orchestrator__Workflow__PollInterval"] = "00:00:00.500",
            ["Orchestrator__Workflow__ReminderPeriod"] = "00:00:02",
            ["Orchestrator__Workflow__ReconcileInterval"] = "00:00:00",
            ["Orchestrator__Api__Tokens__0__Name"] = "fault",
            ["Orchestrator__Api__Tokens__0__Sha256"] = ApiTokens.Hash(ApiToken),
            ["Orchestrator__Api__Tokens__0__Scopes__0"] = "admin",
            ["Logging__LogLevel__Default"] = "Warning",
            [$"Orchestrator__Webhooks__Projects__{seed["upstream"]!["id"]!.GetValue<long>()}__Secret"] = HookSecret,
        };
        foreach (var (k, v) in cluster ?? new Dictionary<string, string>()) env[k] = v;
        return SiloProcess.Start(SiloProcess.BuiltDll, url, env, output.WriteLine);
    }

    /// <summary>The seeded project's policy, through the silo's own API as an operator would set it.</summary>
    private static async Task PutPolicyAsync(HttpClient api, WorkflowHarness harness) =>
        (await api.PutAsJsonAsync($"/api/v1/projects/{harness.Upstream}/policy", new
        {
            images = new[] { new { name = "debian/x86_64_build", tagFile = ".gitlab-ci/image-tags.yml", tagKey = "DEBIAN_BUILD_TAG", inputs = new[] { ".gitlab-ci/container/**" } } },
            upstreamRepo = harness.UpstreamPath, ciTimeoutMinutes = 10, maxRebases = 3,
            // The sandbox's ci-templates build job runs in a shell executor, which names no image.
            unverifiedJobs = new[] { WorkflowHarness.BuildImage.Name },
        })).EnsureSuccessStatusCode();

    /// <summary>Once the silo answers: the policy set, bob's MR opened with <paramref name="tests"/> as its CI's test script, its merge asked through the API.</summary>
    private async Task<MergeRequestKey> RequestMergeAsync(SiloProcess silo, WorkflowHarness harness, string branch, string tests)
    {
        await silo.WaitHealthyAsync();
        using var api = new HttpClient { BaseAddress = new Uri(silo.Url) };
        api.DefaultRequestHeaders.Authorization = new("Bearer", ApiToken);
        await PutPolicyAsync(api, harness);
        var iid = await harness.OpenMrAsync(branch, "Slow tests", new FileChange("update", ".gitlab-ci/run-tests.sh", tests));
        (await api.PostAsync($"/api/v1/projects/{harness.Upstream}/merge-requests/{iid}/merge", null)).EnsureSuccessStatusCode();
        return new MergeRequestKey(harness.Upstream, iid);
    }

    [Fact]
    public Task Given_an_mr_waiting_on_a_long_build_When_the_silo_is_killed_and_started_again_Then_it_merges_with_one_pipeline_and_one_note() =>
        KillAndResume("kill", beforeRecorded: false);

    [Fact]
    public Task Given_a_pipeline_created_but_not_recorded_When_the_silo_dies_there_and_restarts_Then_it_finds_that_pipeline_and_creates_no_second() =>
        KillAndResume("crash", beforeRecorded: true);

    [Fact]
    public Task Given_a_two_silo_cluster_on_postgres_When_the_silo_hosting_the_mr_is_killed_Then_the_other_silo_finishes_it() =>
        KillAndResume("pair", beforeRecorded: false, twoSilos: true);

    [Fact]
    public async Task Given_webhooks_dropped_duplicated_delayed_reordered_and_gitlab_storms_When_an_mr_is_assigned_Then_it_merges_once()
    {
        await using var run = await BeginAsync("storm");
        var (harness, seed) = (run.Harness, run.Seed);
        var url = run.Url;
        var silo = run.Start(settings: new() { ["Orchestrator__Workflow__ReconcileInterval"] = "00:00:02" });
        await silo.WaitHealthyAsync();
        using var api = run.Api();
        await PutPolicyAsync(api, harness);
        var admin = sandbox.Api(SandboxFixture.AdminToken);
        (await admin.PostAsJsonAsync($"projects/{harness.Upstream}/hooks", new
        {
            url = url + "/webhooks/gitlab", token = HookSecret, push_events = true, merge_requests_events = true, pipeline_events = true,
            job_events = true, note_events = true,
        })).EnsureSuccessStatusCode();
        var iid = await harness.OpenMrAsync("storm", "Storm", new FileChange("update", "README.md", "# mesa\nstorm\n"));
        var up = harness.Upstream;
        // Deliveries: the first two lost, the next ten doubled, all late and reordered; GitLab: 5xx and 429 storms on the
        // calls the workflow makes most, and every call slowed.
        await harness.Faults(new
        {
            drop_deliveries = 2, duplicate_deliveries = 10, delivery_delay_ms = 150, reorder_batch = 3, latency_ms = 20,
            routes = new object[]
            {
                new { method = "GET", path = $"^/api/v4/projects/{up}/merge_requests/{iid}$", status = 503, count = 6 },
                new { method = "GET", path = $"^/api/v4/projects/{up}/pipelines/\\d+$", status = 429, retry_after = 1, count = 3 },
                new { method = "PUT", path = $"^/api/v4/projects/{up}/merge_requests/{iid}/rebase$", status = 502, count = 2 },
            },
        });
        (await harness.As("maintainer").PutAsJsonAsync($"projects/{up}/merge_requests/{iid}",
            new { assignee_ids = new[] { seed["users"]!["bot"]!["id"]!.GetValue<long>() } })).EnsureSuccessStatusCode();

        var key = new MergeRequestKey(up, iid);
        var journal = run.Journal;
        // The silo creates the event tables at its first write, perhaps at this very moment: PostgreSQL refuses one of two
        // concurrent creations, and this read's is tried again.
        var events = await Eventually.Get(async () => (await journal.ReadAsync(key)).Events, e => e.OfType<OutcomeNoted>().Any(),
            "the outcome to be noted", TimeSpan.FromMinutes(2), retryOn: e => e is Marten.Exceptions.MartenSchemaException);
        var state = WorkflowEvolver.Fold(events);
        Assert.Equal(WorkflowState.Completed, state.State);
        Assert.Single(events.OfType<MergeRequested>());
        Assert.Single(events.OfType<PipelineCreated>());
        Assert.Single(events.OfType<Merged>());
        Assert.Single(events.OfType<OutcomeNoted>());
        Assert.True(WorkflowReplay.Run(events).Consistent);
        var bob = harness.As("bob");
        var notes = (await harness.Get(bob, $"projects/{up}/merge_requests/{iid}/notes")).AsArray();
        Assert.Single(notes, n => n!["body"]!.GetValue<string>().Contains(Markers.Note(key, 1)));
    }

    /// <summary>A PostgreSQL cluster of this test's own (infra/postgres.sh on another port and folder), so restarting it disturbs no other test.</summary>
    private static async Task<int> PrivatePostgres(string command, int port, string dir)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Orchestrator.sln"))) root = root.Parent!;
        var psi = new ProcessStartInfo("bash", [Path.Combine(root.FullName, "infra", "postgres.sh"), command]) { UseShellExecute = false };
        psi.Environment["ORCH_PG_PORT"] = port.ToString();
        psi.Environment["ORCH_PG_DIR"] = dir;
        using var process = Process.Start(psi)!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    [Fact]
    public async Task Given_an_mr_waiting_on_its_build_When_postgresql_restarts_Then_the_workflow_carries_on_and_merges_once()
    {
        var port = Ports.Free();
        var dir = $"/var/tmp/orchestrator-fault-pg-{Guid.NewGuid():N}";
        Assert.Equal(0, await PrivatePostgres("start", port, dir));
        var connection = $"Host=127.0.0.1;Port={port};Username=orchestrator;Password=orchestrator;Database=orchestrator";
        try
        {
            await using var dataSource = Npgsql.NpgsqlDataSource.Create(connection);
            await using var run = await BeginAsync("pgrestart", dataSource);
            var (harness, journal) = (run.Harness, run.Journal);
            var silo = run.Start(connection: connection);
            var key = await RequestMergeAsync(silo, harness, "slow", "sleep 6\ntrue\n");
            await Eventually.True(async () => (await journal.ReadAsync(key)).Events.OfType<PipelineCreated>().Any(), "the build to start");

            Assert.Equal(0, await PrivatePostgres("stop", port, dir));
            // The outage's length is what this test sets, not a wait for something: four of the silo's polls fall in it.
            await Task.Delay(2000);
            Assert.Equal(0, await PrivatePostgres("start", port, dir));

            var events = await Eventually.Get(async () => (await journal.ReadAsync(key)).Events, e => e.OfType<OutcomeNoted>().Any(),
                "the outcome to be noted", TimeSpan.FromSeconds(90), retryOn: e => e is Npgsql.NpgsqlException);
            Assert.Equal(WorkflowState.Completed, WorkflowEvolver.Fold(events).State);
            Assert.Single(events.OfType<PipelineCreated>());
            Assert.Single(events.OfType<Merged>());
            Assert.Single(events.OfType<OutcomeNoted>());
            Assert.True(WorkflowReplay.Run(events).Consistent);
        }
        finally
        {
            // The run's silo is killed first (its disposal, at the end of the try), then its database stops.
            await PrivatePostgres("stop", port, dir);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task Given_a_two_silo_cluster_When_enqueues_of_one_mr_race_on_both_silos_Then_there_is_one_attempt()
    {
        await using var run = await BeginAsync("race2");
        var harness = run.Harness;
        var cluster = new Dictionary<string, string>
        {
            ["Orchestrator__Cluster__Membership"] = "postgres", ["Orchestrator__Cluster__ClusterId"] = "race-" + Guid.NewGuid().ToString("N")[..8],
            ["Orchestrator__Cluster__FastFailureDetection"] = "true",
        };
        string[] urls = [run.Url, $"http://127.0.0.1:{Ports.Free()}"];
        var silos = urls.Select(u => run.Start(u, cluster)).ToList();
        foreach (var silo in silos) await silo.WaitHealthyAsync();
        var clients = urls.Select(u => run.Api(u)).ToList();
        var path = $"/api/v1/projects/{harness.Upstream}/merge-requests/{harness.MrA}/merge";
        // A project that builds images is refused without a policy, which would end the attempt under the race.
        await PutPolicyAsync(clients[0], harness);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => clients[i % 2].PostAsync(path, null)));

        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, a.StatusCode.ToString()));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Accepted);
        var (_, events) = await run.Journal.ReadAsync(new MergeRequestKey(harness.Upstream, harness.MrA));
        Assert.Single(events.OfType<MergeRequested>());
        foreach (var a in answers)
            Assert.Equal(1, (await a.Content.ReadFromJsonAsync<JsonNode>())!["attempt"]!.GetValue<int>());
    }

    /// <param name="beforeRecorded">Killed after GitLab created our pipeline and before the workflow recorded it (GitLab holds its answer).</param>
    private async Task KillAndResume(string suffix, bool beforeRecorded, bool twoSilos = false)
    {
        await using var run = await BeginAsync(suffix);
        var (harness, journal) = (run.Harness, run.Journal);
        var clusterId = "pair-" + Guid.NewGuid().ToString("N")[..8];
        Dictionary<string, string>? Cluster() => twoSilos
            ? new()
            {
                ["Orchestrator__Cluster__Membership"] = "postgres", ["Orchestrator__Cluster__ClusterId"] = clusterId,
                ["Orchestrator__Cluster__FastFailureDetection"] = "true",
            }
            : null;
        var first = run.Start(settings: Cluster());
        var other = twoSilos ? run.Start($"http://127.0.0.1:{Ports.Free()}", Cluster()) : null;
        await first.WaitHealthyAsync();
        if (other is not null)
        {
            await other.WaitHealthyAsync();
            await using var members = db.DataSource.CreateCommand(
                $"select count(*) from {db.Schema}.orleans_membership where cluster_id = '{clusterId}' and status = {(int)Orleans.Runtime.SiloStatus.Active}");
            Assert.Equal(2L, (long)(await members.ExecuteScalarAsync())!);
        }
        using var api = run.Api();
        await PutPolicyAsync(api, harness);
        var iid = await harness.OpenMrAsync("slow", "Slow tests",
            new FileChange("update", ".gitlab-ci/run-tests.sh", "sleep 6\n" + "set -euo pipefail\ntrue\n"));
        var key = new MergeRequestKey(harness.Upstream, iid);
        if (beforeRecorded)
            await harness.Faults(new { routes = new[] { new { method = "POST", path = $"^/api/v4/projects/{harness.Upstream}/pipeline$", hold_ms = 30_000, count = 1 } } });
        (await api.PostAsync($"/api/v1/projects/{harness.Upstream}/merge-requests/{iid}/merge", null)).EnsureSuccessStatusCode();

        if (beforeRecorded)
            // GitLab has made the pipeline and holds its answer: the process dies before it can record it.
            await Eventually.True(async () => (await harness.Get(harness.As("bob"), $"projects/{harness.Upstream}/pipelines?ref=slow")).AsArray()
                .Any(p => p!["source"]?.GetValue<string>() == "api"), "GitLab to create our pipeline");
        else
            // Reading the database only: the build is under way.
            await Eventually.True(async () => (await journal.ReadAsync(key)).Events.OfType<PipelineCreated>().Any(), "the pipeline to be recorded");
        await first.KillAsync();
        var (beforeKill, died) = await journal.ReadAsync(key);
        Assert.True(beforeKill > 0);
        Assert.Equal(!beforeRecorded, died.OfType<PipelineCreated>().Any());

        var restart = Stopwatch.StartNew();
        // One silo: a new process takes over. Two silos: the survivor does, with no new process at all.
        var second = other ?? run.Start();
        TimeSpan? moving = null;
        var bob = harness.As("bob");
        await Eventually.True(async () =>
        {
            var (version, events) = await journal.ReadAsync(key);
            moving ??= version > beforeKill ? restart.Elapsed : null;
            var mr = await harness.Get(bob, $"projects/{harness.Upstream}/merge_requests/{iid}");
            return mr["state"]!.GetValue<string>() == "merged" && events.OfType<OutcomeNoted>().Any();
        }, "the merge request merged and its outcome noted", TimeSpan.FromSeconds(90));
        output.WriteLine($"restart to the workflow moving again: {moving?.TotalSeconds:F1} s");

        var (_, stream) = await journal.ReadAsync(key);
        var state = WorkflowEvolver.Fold(stream);
        Assert.Equal(WorkflowState.Completed, state.State);
        Assert.Single(stream.OfType<PipelineCreated>());
        Assert.Single(stream.OfType<Merged>());
        Assert.Single(stream.OfType<OutcomeNoted>());
        Assert.True(WorkflowReplay.Run(stream).Consistent);
        var marker = Markers.Pipeline(key, 1, 1);
        var pipelines = (await harness.Get(bob, $"projects/{harness.Upstream}/pipelines?ref=slow")).AsArray();
        var ours = 0;
        foreach (var p in pipelines)
        {
            var variables = (await harness.Get(bob, $"projects/{harness.Upstream}/pipelines/{p!["id"]}/variables")).AsArray();
            if (variables.Any(v => v!["key"]!.GetValue<string>() == Markers.PipelineVariable && v["value"]!.GetValue<string>() == marker)) ours++;
        }
        Assert.Equal(1, ours);
        var notes = (await harness.Get(bob, $"projects/{harness.Upstream}/merge_requests/{iid}/notes")).AsArray();
        Assert.Single(notes, n => n!["body"]!.GetValue<string>().Contains(Markers.Note(key, 1)));
    }
}
