extern alias sandbox;

using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Api.Operations;
using Orchestrator.Api.Queues;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using sandbox::Sandbox.Seed;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.IntegrationTests.Api;

/// <summary>
/// The operations page in headless Chromium, served by the orchestrator on a real port while it drives the seeded
/// incident on the sandbox: the queue while one MR holds the branch, then the timeline of a completed merge.
/// </summary>
public sealed class OperationsPageTests(SchemaFixture db, SandboxFixture sandbox, ITestOutputHelper output)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private OrchestratorApiFactory factory = null!;
    private string baseUrl = "";
    private JsonNode seed = null!;

    private long Upstream => seed["upstream"]!["id"]!.GetValue<long>();
    private long Fork => seed["fork"]!["id"]!.GetValue<long>();
    private long MrA => seed["mr_a"]!["iid"]!.GetValue<long>();
    private HttpClient As(string who) => sandbox.Api(seed["users"]![who]!["token"]!.GetValue<string>());

    public async Task InitializeAsync()
    {
        seed = await sandbox.SeedIncidentAsync("ops" + Guid.NewGuid().ToString("N")[..6]);
        var bot = seed["users"]!["bot"]!;
        var port = Ports.Free();
        factory = new OrchestratorApiFactory(db.Schema, new Dictionary<string, string?>
        {
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
            ["Orchestrator:Workflow:PollInterval"] = "00:00:00.200",
            // The factory's webhook projects are GitLab's documented examples, not the sandbox's: nothing to reconcile.
            ["Orchestrator:Workflow:ReconcileInterval"] = "00:00:00",
        });
        factory.UseKestrel(port);
        factory.StartServer();
        baseUrl = $"http://127.0.0.1:{port}";
    }

    public async Task DisposeAsync() => await factory.DisposeAsync();

    private HttpClient Orchestrator(string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    [Fact]
    public async Task Given_two_mrs_queued_for_main_When_an_operator_opens_the_page_Then_it_shows_the_queue_and_the_completed_mrs_timeline()
    {
        using var admin = Orchestrator(OrchestratorApiFactory.AdminToken);
        (await admin.PutAsJsonAsync($"/api/v1/projects/{Upstream}/policy", new
        {
            images = new[] { new { name = "debian/x86_64_build", tagFile = ".gitlab-ci/image-tags.yml", tagKey = "DEBIAN_BUILD_TAG", inputs = new[] { ".gitlab-ci/container/**" } } },
            upstreamRepo = seed["upstream"]!["path"]!.GetValue<string>(), ciTimeoutMinutes = 10, maxRebases = 3,
            unverifiedJobs = new[] { "debian/x86_64_build" },
        })).EnsureSuccessStatusCode();
        // Alice has already fixed A for libfoo 2: its image is built upstream by our pipeline, verified, merged.
        // Its build waits (a minute at most) for the gate file, so the test sees A hold the branch however fast the machine.
        var gate = Path.Combine(Path.GetTempPath(), "ops-gate-" + Guid.NewGuid().ToString("N"));
        var heldBuild = IncidentFiles.ToolBuild(api: 2) + $"\nfor i in $(seq 600); do [ -e {gate} ] && break; sleep 0.1; done\n";
        (await As("alice").PostAsJsonAsync($"projects/{Fork}/repository/commits", new
        {
            branch = "a-new-tool", commit_message = "ci: build mesa-tool against libfoo 2",
            actions = new[]
            {
                new { action = "update", file_path = ".gitlab-ci/container/debian/x86_64_build.sh", content = heldBuild },
                new { action = "update", file_path = "tests/requirements.txt", content = IncidentFiles.RequirementsWithFoo(2) },
            },
        })).EnsureSuccessStatusCode();
        var bob = As("bob");
        (await bob.PostAsJsonAsync($"projects/{Upstream}/repository/commits", new
        {
            branch = "docs", start_branch = "main", commit_message = "docs: say hello",
            actions = new[] { new { action = "create", file_path = "docs/hello.md", content = "hello\n" } },
        })).EnsureSuccessStatusCode();
        var mrB = (await (await bob.PostAsJsonAsync($"projects/{Upstream}/merge_requests",
            new { source_branch = "docs", target_branch = "main", title = "docs: say hello" })).Content.ReadFromJsonAsync<JsonNode>())!["iid"]!.GetValue<long>();

        using var merger = Orchestrator(OrchestratorApiFactory.MergeToken);
        using var reader = Orchestrator(OrchestratorApiFactory.ReadToken);
        (await merger.PostAsJsonAsync($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/merge", new { requestedBy = "marge-bot" })).EnsureSuccessStatusCode();
        // The queue is first come, first served: B asks once A holds main.
        await WaitForState(merger, MrA, "building");
        (await merger.PostAsJsonAsync($"/api/v1/projects/{Upstream}/merge-requests/{mrB}/merge", new { requestedBy = "marge-bot" })).EnsureSuccessStatusCode();

        await using var browser = await HeadlessChromium.StartAsync();

        // Without a token the page asks for one and shows nothing; a wrong one is refused with the API's reason.
        await browser.NavigateAsync($"{baseUrl}/ops");
        await browser.WaitForAsync("!document.getElementById('login').hidden");
        Assert.Equal("none", await browser.EvaluateAsync<string>("getComputedStyle(document.getElementById('main')).display"));
        await browser.TypeAsync("#token", "not-a-token");
        await browser.ClickAsync("#login button");
        await browser.WaitForAsync("document.querySelector('[data-test=login-error]').textContent.includes('refused')");
        Assert.Contains("send a valid bearer token", await browser.EvaluateAsync<string>("document.querySelector('[data-test=login-error]').textContent"));

        // With a read token in the fragment: the queue, A holding main while B waits behind it.
        await browser.NavigateAsync($"{baseUrl}/ops#token={OrchestratorApiFactory.ReadToken}");
        await browser.WaitForAsync(
            $"document.querySelector('[data-test=queue][data-project=\"{Upstream}\"][data-branch=main] [data-test=holder][data-iid=\"{MrA}\"]') && " +
            $"document.querySelector('[data-test=queue][data-project=\"{Upstream}\"] [data-test=waiting][data-iid=\"{mrB}\"]')", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(OrchestratorApiFactory.ReadToken, await browser.EvaluateAsync<string>("location.href"));
        Assert.Equal("none", await browser.EvaluateAsync<string>("getComputedStyle(document.getElementById('login')).display"));

        // Titles and paths as GitLab has them, each linking to its GitLab page.
        var queueRow = $"[data-test=queue][data-project=\"{Upstream}\"][data-branch=main]";
        var gitlabA = (await As("alice").GetFromJsonAsync<JsonNode>($"projects/{Upstream}/merge_requests/{MrA}"))!;
        var project = (await As("alice").GetFromJsonAsync<JsonNode>($"projects/{Upstream}"))!;
        await browser.WaitForAsync($"document.querySelector('{queueRow} [data-test=holder] [data-test=title]')", TimeSpan.FromSeconds(30));
        Assert.Equal(gitlabA["title"]!.GetValue<string>(), await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=holder] [data-test=title]').textContent"));
        Assert.Equal(gitlabA["web_url"]!.GetValue<string>(), await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=holder] a').href"));
        await browser.WaitForAsync($"document.querySelector('{queueRow} [data-test=waiting][data-iid=\"{mrB}\"] [data-test=title]')");
        Assert.Equal("docs: say hello", await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=waiting][data-iid=\"{mrB}\"] [data-test=title]').textContent"));
        Assert.Equal(project["path_with_namespace"]!.GetValue<string>(), await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=project] a').textContent"));
        Assert.Equal(project["web_url"]!.GetValue<string>(), await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=project] a').href"));

        // A pause for a release shows on the queue with its reason, who paused it and since when; B keeps its place.
        (await admin.PostAsJsonAsync($"/api/v1/projects/{Upstream}/queues/main/pause", new { reason = "freeze for the 26.1 release" })).EnsureSuccessStatusCode();
        await browser.WaitForAsync($"document.querySelector('{queueRow} [data-test=paused]')");
        Assert.Equal("freeze for the 26.1 release", await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=pause-reason]').textContent"));
        Assert.Contains("by ", await browser.EvaluateAsync<string>($"document.querySelector('{queueRow} [data-test=queue-status]').innerText"));
        Assert.NotNull(await browser.EvaluateAsync($"document.querySelector('{queueRow} [data-test=waiting][data-iid=\"{mrB}\"]')?.dataset.iid"));
        await browser.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", "ops-queue.png"));
        (await admin.PostAsync($"/api/v1/projects/{Upstream}/queues/main/resume", null)).EnsureSuccessStatusCode();
        await browser.WaitForAsync($"!document.querySelector('{queueRow} [data-test=paused]')");
        await File.WriteAllTextAsync(gate, "go");

        // Both land, one after the other; the page follows without being reloaded.
        var mergedA = await WaitForState(merger, MrA, "completed");
        await WaitForState(merger, mrB, "completed");
        await browser.WaitForAsync($"document.querySelector('[data-test=mr-row][data-mr=\"{Upstream}/{mrB}\"] [data-state=completed]')", TimeSpan.FromSeconds(30));
        await browser.WaitForAsync("document.querySelector('[data-test=queues]').innerText.includes('no merge request is queued')");

        // Each MR's outcome and how long it was in the queue, from its request to its merge.
        var rowA = $"[data-test=mr-row][data-mr=\"{Upstream}/{MrA}\"]";
        Assert.Equal("merged", await browser.EvaluateAsync<string>($"document.querySelector('{rowA} [data-test=outcome]').textContent"));
        Assert.Matches(@"^\d+(\.\d)? s$|^\d+ min \d+ s$", await browser.EvaluateAsync<string>($"document.querySelector('{rowA} [data-test=in-queue]').textContent"));
        var streamA = (await reader.GetFromJsonAsync<JsonArray>($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/events"))!;
        DateTimeOffset AtOf(string type) => streamA.Single(e => e!["type"]!.GetValue<string>() == type)!["data"]!["at"]!.GetValue<DateTimeOffset>();
        Assert.Equal((AtOf("merged") - AtOf("merge_requested")).TotalSeconds,
            double.Parse(await browser.EvaluateAsync<string>($"document.querySelector('{rowA} [data-test=in-queue]').dataset.seconds")), 6);

        // The statistics panel shows what the streams say: worked out here from every MR's events, read through the API.
        var expected = await StatisticsFromStreams(reader);
        Assert.True(expected.Merged >= 2, $"{expected.Merged} merges in the streams");
        var stats = (await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/stats"))!;
        Assert.Equal(expected.Merged, stats["landingsPerDay"]!.AsArray().Sum(d => d!["merged"]!.GetValue<int>()));
        Assert.Equal(expected.Merged, stats["landingsPerDay"]!.AsArray().Single(d => d!["day"]!.GetValue<string>() == DateTime.UtcNow.ToString("yyyy-MM-dd"))!["merged"]!.GetValue<int>());
        AssertPercentiles(expected.TimeToLand, stats["timeToLand"]!);
        AssertPercentiles(expected.CiTime, stats["ciTime"]!);
        Assert.Equal(expected.Rebuilt, stats["images"]!["rebuilt"]!.GetValue<int>());
        Assert.Equal(expected.Reused, stats["images"]!["reused"]!.GetValue<int>());
        Assert.Equal(expected.Failed, stats["failureReasons"]!.AsArray().Sum(r => r!["count"]!.GetValue<int>()));
        await browser.WaitForAsync($"document.querySelector('[data-test=stat-landings]').dataset.total === '{expected.Merged}'", TimeSpan.FromSeconds(60));
        var panel = (await browser.EvaluateAsync("""
            (() => { const d = (t) => ({ ...document.querySelector(`[data-test=${t}]`).dataset });
                     return { ttl: d('stat-time-to-land'), ci: d('stat-ci-time'), images: d('stat-images'), failures: d('stat-failures'),
                              bars: document.querySelectorAll('[data-test=stat-landings] svg rect').length }; })()
            """))!;
        Assert.Equal(stats["timeToLand"]!["count"]!.GetValue<int>().ToString(), panel["ttl"]!["count"]!.GetValue<string>());
        Assert.Equal(stats["timeToLand"]!["p50Seconds"]!.GetValue<double>(), double.Parse(panel["ttl"]!["p50"]!.GetValue<string>()), 6);
        Assert.Equal(stats["timeToLand"]!["p95Seconds"]!.GetValue<double>(), double.Parse(panel["ttl"]!["p95"]!.GetValue<string>()), 6);
        Assert.Equal(stats["ciTime"]!["p50Seconds"]!.GetValue<double>(), double.Parse(panel["ci"]!["p50"]!.GetValue<string>()), 6);
        Assert.Equal(stats["ciTime"]!["p95Seconds"]!.GetValue<double>(), double.Parse(panel["ci"]!["p95"]!.GetValue<string>()), 6);
        Assert.Equal(expected.Rebuilt.ToString(), panel["images"]!["rebuilt"]!.GetValue<string>());
        Assert.Equal(expected.Reused.ToString(), panel["images"]!["reused"]!.GetValue<string>());
        Assert.Equal(expected.Failed.ToString(), panel["failures"]!["total"]!.GetValue<string>());
        Assert.Equal(stats["landingsPerDay"]!.AsArray().Count, panel["bars"]!.GetValue<int>());
        await browser.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", "ops-stats.png"));

        // A click on A opens its timeline: every step, the verdict, our pipeline in the target project, the digest each job ran on.
        await browser.ClickAsync($"[data-test=mr-row][data-mr=\"{Upstream}/{MrA}\"]");
        await browser.WaitForAsync("document.querySelector('[data-test=timeline] [data-step=completed]')");
        var steps = (await browser.EvaluateAsync("[...document.querySelectorAll('[data-test=step]')].map(s => s.dataset.step)"))!.AsArray()
            .Select(s => s!.GetValue<string>()).ToList();
        Assert.Equal(["queued", "rebasing", "checking", "building", "verifying", "merging", "completed"], steps);
        var text = await browser.EvaluateAsync<string>("document.querySelector('[data-test=timeline]').innerText");
        var events = (await merger.GetFromJsonAsync<JsonArray>($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/events"))!;
        var verified = events.Single(e => e!["type"]!.GetValue<string>() == "build_verified")!["data"]!;
        var pipeline = events.Single(e => e!["type"]!.GetValue<string>() == "pipeline_created")!["data"]!;
        Assert.Contains($"debian/x86_64_build:{IncidentFiles.ToolTag} missing", text);
        Assert.Contains($"pipeline {pipeline["pipelineId"]!.GetValue<long>()} created", text);
        Assert.Contains("in the target project", text);
        Assert.Contains(verified["images"]![0]!["digest"]!.GetValue<string>(), text);
        Assert.Contains(mergedA["mergeCommitSha"]!.GetValue<string>()[..12], text);
        // Every ended step shows how long it took; the building step took measurable time.
        var durations = (await browser.EvaluateAsync("[...document.querySelectorAll('[data-test=step] [data-test=duration]')].map(d => d.textContent)"))!.AsArray()
            .Select(d => d!.GetValue<string>()).ToList();
        Assert.DoesNotContain("running", durations);
        Assert.Matches(@"^\d+(\.\d)? s$|^\d+ ms$", durations[steps.IndexOf("building")]);

        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", "ops-timeline.png");
        var png = await browser.ScreenshotAsync(path);
        output.WriteLine($"screenshot: {path} ({png.Length} bytes)");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var (width, height) = (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Equal(1280, width);
        Assert.True(height >= 1000, $"the timeline page is {height} px high");
        Assert.Empty(browser.PageErrors);
    }

    [Fact]
    public async Task Given_the_overview_When_asked_without_a_token_or_by_a_token_of_another_project_Then_it_is_refused_or_shows_nothing_of_this_one()
    {
        // An embargo window around now: the queue says until when nothing merges.
        static string At(DateTimeOffset t) => $"{t.DayOfWeek.ToString()[..3]} {t:HH:mm}";
        var now = DateTimeOffset.UtcNow;
        var window = new EmbargoWindow(At(now.AddHours(-1)), At(now.AddHours(2)), "UTC");
        using var admin = Orchestrator(OrchestratorApiFactory.AdminToken);
        (await admin.PutAsJsonAsync($"/api/v1/projects/{Upstream}/policy", new
        {
            images = new[] { new { name = "debian/x86_64_build", tagFile = ".gitlab-ci/image-tags.yml", tagKey = "DEBIAN_BUILD_TAG", inputs = new[] { ".gitlab-ci/container/**" } } },
            upstreamRepo = seed["upstream"]!["path"]!.GetValue<string>(), embargo = new[] { window },
        })).EnsureSuccessStatusCode();
        using var reader = Orchestrator(OrchestratorApiFactory.ReadToken);
        static int Images(JsonNode stats) => stats["images"]!["rebuilt"]!.GetValue<int>() + stats["images"]!["reused"]!.GetValue<int>();
        var imagesBefore = Images((await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/stats?days=1"))!);
        using var merger = Orchestrator(OrchestratorApiFactory.MergeToken);
        (await merger.PostAsJsonAsync($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/merge", new { requestedBy = "marge-bot" })).EnsureSuccessStatusCode();

        using var anonymous = Orchestrator(null);
        var refused = await anonymous.GetAsync("/api/v1/ops/overview");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/timeline")).StatusCode);

        var all = (await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/overview"))!;
        Assert.Contains(all["mergeRequests"]!.AsArray(), m => m!["projectId"]!.GetValue<long>() == Upstream && m["iid"]!.GetValue<long>() == MrA);
        // The MR joins the queue of its target branch once its request is checked.
        JsonNode? queue = null;
        await Eventually.True(async () => (queue = (await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/overview"))!["queues"]!.AsArray()
            .SingleOrDefault(q => q!["projectId"]!.GetValue<long>() == Upstream)) is not null, "the MR's queue on the overview");
        Assert.Equal(Embargoes.Until([window], now), queue!["embargoedUntil"]!.GetValue<DateTimeOffset>());
        Assert.Null(queue["paused"]);

        using var other = Orchestrator(OrchestratorApiFactory.Project42Token);
        var theirs = (await other.GetFromJsonAsync<JsonNode>("/api/v1/ops/overview"))!;
        Assert.DoesNotContain(theirs["mergeRequests"]!.AsArray(), m => m!["projectId"]!.GetValue<long>() == Upstream);
        Assert.DoesNotContain(theirs["queues"]!.AsArray(), q => q!["projectId"]!.GetValue<long>() == Upstream);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/timeline")).StatusCode);

        // The cluster's counts: this one silo, and the MR grain the enqueue activated.
        var cluster = (await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/cluster"))!;
        Assert.Equal(1, cluster["silos"]!.GetValue<int>());
        Assert.Contains(cluster["grains"]!.AsArray(), g => g!["grainType"]!.GetValue<string>() == "MergeRequestGrain" && g["activations"]!.GetValue<int>() >= 1);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/ops/cluster")).StatusCode);

        // The statistics: read scope, a window of 1 to 90 days, and only the caller's projects' streams.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/ops/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await reader.GetAsync("/api/v1/ops/stats?days=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await reader.GetAsync("/api/v1/ops/stats?days=91")).StatusCode);
        await Eventually.True(async () => Images((await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/stats?days=1"))!) > imagesBefore,
            "the freshness check of this project's MR in the statistics");
        var weekly = (await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/stats?days=7"))!;
        Assert.Equal(7, weekly["landingsPerDay"]!.AsArray().Count);
        var theirStats = (await other.GetFromJsonAsync<JsonNode>("/api/v1/ops/stats?days=1"))!;
        Assert.Equal(0, Images(theirStats));

        // The page's shell carries no data and forbids inline script, so it is served to anyone.
        var page = await anonymous.GetAsync("/ops");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());

        await merger.DeleteAsync($"/api/v1/projects/{Upstream}/merge-requests/{MrA}/merge");
    }

    private sealed record StreamFigures(int Merged, List<double> TimeToLand, List<double> CiTime, int Rebuilt, int Reused, int Failed);

    /// <summary>
    /// The panel's figures worked out from the streams of every MR the overview lists (the read token sees every project,
    /// so the other test's streams count too), event by event as the README defines them.
    /// </summary>
    private static async Task<StreamFigures> StatisticsFromStreams(HttpClient reader)
    {
        var overview = (await reader.GetFromJsonAsync<JsonNode>("/api/v1/ops/overview"))!;
        var figures = new StreamFigures(0, [], [], 0, 0, 0);
        var (merged, rebuilt, reused, failed) = (0, 0, 0, 0);
        foreach (var mr in overview["mergeRequests"]!.AsArray())
        {
            var events = (await reader.GetFromJsonAsync<JsonArray>($"/api/v1/projects/{mr!["projectId"]}/merge-requests/{mr["iid"]}/events"))!
                .Select(e => (Type: e!["type"]!.GetValue<string>(), Data: e["data"]!, At: e["data"]!["at"]!.GetValue<DateTimeOffset>())).ToList();
            int Attempt(JsonNode data) => data["attempt"]!.GetValue<int>();
            foreach (var landing in events.Where(e => e.Type == "merged"))
            {
                merged++;
                figures.TimeToLand.Add((landing.At - events.Single(e => e.Type == "merge_requested" && Attempt(e.Data) == Attempt(landing.Data)).At).TotalSeconds);
            }
            foreach (var created in events.Where(e => e.Type == "pipeline_created"))
            {
                var id = created.Data["pipelineId"]!.GetValue<long>();
                var ended = events.FirstOrDefault(e => e.Type == "pipeline_observed" && e.Data["pipelineId"]!.GetValue<long>() == id
                    && e.Data["status"]!.GetValue<string>() is "success" or "failed");
                if (ended.Type is not null) figures.CiTime.Add((ended.At - created.At).TotalSeconds);
            }
            var verdicts = events.Where(e => e.Type == "freshness_checked").SelectMany(e => e.Data["images"]!.AsArray())
                .Select(i => i!["verdict"]!.GetValue<string>().ToLowerInvariant()).ToList();
            rebuilt += verdicts.Count(v => v is "stale" or "missing");
            reused += verdicts.Count(v => v is "upstream" or "fresh");
            failed += events.Count(e => e.Type == "attempt_failed");
        }
        return figures with { Merged = merged, Rebuilt = rebuilt, Reused = reused, Failed = failed };
    }

    /// <summary>Nearest rank: the smallest measured value with at least p of them at or below it.</summary>
    private static void AssertPercentiles(List<double> measured, JsonNode summary)
    {
        var sorted = measured.Order().ToList();
        Assert.Equal(sorted.Count, summary["count"]!.GetValue<int>());
        Assert.Equal(sorted[(int)Math.Ceiling(0.5 * sorted.Count) - 1], summary["p50Seconds"]!.GetValue<double>(), 6);
        Assert.Equal(sorted[(int)Math.Ceiling(0.95 * sorted.Count) - 1], summary["p95Seconds"]!.GetValue<double>(), 6);
    }

    private Task<JsonNode> WaitForState(HttpClient client, long iid, string state) =>
        Eventually.Get(async () =>
        {
            var mr = (await client.GetFromJsonAsync<JsonNode>($"/api/v1/projects/{Upstream}/merge-requests/{iid}"))!;
            // An ended attempt never reaches another state: fail now rather than at the timeout.
            if (mr["state"]!.GetValue<string>() is var now && now != state && WorkflowStateExtensions.EndedNames.Contains(now))
                throw new InvalidOperationException($"!{iid} is {now} ({mr["outcome"]}), not {state}");
            return mr;
        }, mr => mr["state"]!.GetValue<string>() == state, $"!{iid} to be {state}", TimeSpan.FromSeconds(180), every: TimeSpan.FromMilliseconds(200));

    [Fact]
    public async Task Given_a_train_as_the_api_serialises_it_When_the_page_renders_it_Then_cars_show_in_order_with_their_waits_and_titles_stay_text()
    {
        // The API's own records, serialised as the API does: the page and the response agree on every name.
        var train = new TrainResponse(Upstream, "main",
        [
            new TrainCarResponse("car-1", 11, 1, [], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "passed", 401, "merging", "GitLab's merge", "<img src=x onerror=alert(1)>"),
            new TrainCarResponse("car-2", 12, 2, [11], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "running", 402, "building", "pipeline 402", "Two"),
            new TrainCarResponse("car-4", 14, 3, [11, 12], null, "running", null, "rebasing", "the car ahead to push its head"),
        ], [15, 16], [9], true, 7, ["car-3"]);
        var json = System.Text.Json.JsonSerializer.Serialize(new[] { new TrainOverviewResponse(Upstream, "main", "mesa/mesa", null, train) },
            new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync($"{baseUrl}/ops");
        await browser.WaitForAsync("typeof renderTrains === 'function'");

        await browser.EvaluateAsync($"renderTrains({json})");

        var cars = $"[data-test=train][data-project=\"{Upstream}\"][data-branch=main] [data-test=car]";
        Assert.Equal("11,12,14", await browser.EvaluateAsync<string>($"[...document.querySelectorAll('{cars}')].map(r => r.dataset.iid).join()"));
        Assert.Equal("the branch itself|!11|!11, !12", await browser.EvaluateAsync<string>($"[...document.querySelectorAll('{cars} [data-test=ahead]')].map(c => c.textContent).join('|')"));
        Assert.Equal("GitLab's merge|pipeline 402|the car ahead to push its head", await browser.EvaluateAsync<string>($"[...document.querySelectorAll('{cars} [data-test=waits-for]')].map(c => c.textContent).join('|')"));
        Assert.Equal("aaaaaaaaaaaa|bbbbbbbbbbbb|—", await browser.EvaluateAsync<string>($"[...document.querySelectorAll('{cars} [data-test=head]')].map(c => c.textContent).join('|')"));
        Assert.Contains("waiting for a car: !15, !16", await browser.EvaluateAsync<string>("document.querySelector('[data-test=train] h3').textContent"));
        // A hostile title is text, never markup.
        Assert.Equal("<img src=x onerror=alert(1)>", await browser.EvaluateAsync<string>($"document.querySelector('{cars}[data-iid=\"11\"] [data-test=title]').textContent"));
        Assert.Equal(0, await browser.EvaluateAsync<int>("document.querySelectorAll('[data-test=trains] img').length"));
        Assert.False(await browser.EvaluateAsync<bool>("document.getElementById('trains-section').hidden"));
        await browser.EvaluateAsync("renderTrains([])");
        Assert.True(await browser.EvaluateAsync<bool>("document.getElementById('trains-section').hidden"));
    }
}
