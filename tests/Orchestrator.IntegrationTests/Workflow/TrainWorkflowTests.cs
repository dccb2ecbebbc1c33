extern alias sandbox;

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Api.Queues;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using sandbox::Sandbox.Seed;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// Merge trains on a fast-forward project: car k is tested on the target plus cars 1..k (each pushed to its own branch
/// by our git), lands only after every car ahead, and lands exactly the SHA its pipeline tested.
/// </summary>
public sealed partial class TrainWorkflowTests(SchemaFixture db, SlowJobsSandboxFixture sandbox, Xunit.Abstractions.ITestOutputHelper output)
    : IClassFixture<SchemaFixture>, IClassFixture<SlowJobsSandboxFixture>
{
    private static readonly TimeSpan TrainTime = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Given_a_train_of_four_When_the_second_car_fails_Then_the_others_land_in_order_rebuilt_without_it_and_main_is_exactly_the_tested_shas()
    {
        await using var h = await StartTrainAsync("train4", depth: 4, maxPipelines: 4);
        var before = await h.MainHead();
        // The second car's tests fail after a while; with the third's file in the tree they take a minute first, so the
        // cars behind are still running when the second fails (and are stopped, not left to fail).
        var breaking = new FileChange("update", ".gitlab-ci/run-tests.sh",
            "if [ -f slow-down.txt ]; then sleep 60; fi\nsleep 12\necho 'FAIL: broken on purpose'\nexit 1\n" + IncidentFiles.RunTests);
        var mrs = new[]
        {
            await h.OpenMrAsync("car-one", "One", new FileChange("create", "one.txt", "1\n")),
            await h.OpenMrAsync("car-two", "Two breaks the tests", breaking),
            await h.OpenMrAsync("car-three", "Three", new FileChange("create", "slow-down.txt", "3\n")),
            await h.OpenMrAsync("car-four", "Four", new FileChange("create", "four.txt", "4\n")),
        };
        await EnqueueInOrderAsync(h, mrs);
        // A train of four: every car started while the first still ran.
        await Eventually.True(async () => (await Train(h).GetTrain()).Cars.Count == 4, "four cars in the train");
        // What the API and the operations page show of it: the cars in order, each with its merge request's own word.
        var shown = await Eventually.Get(() => TrainResponse.ReadAsync(h.Cluster.GrainFactory, new MergeQueueKey(h.Upstream, "main")),
            t => t.Cars.Count == 4, "four cars shown");
        Assert.Equal(mrs, shown.Cars.Select(c => c.Iid));
        Assert.Equal([1, 2, 3, 4], shown.Cars.Select(c => c.Position));
        Assert.Equal(mrs[..3], shown.Cars[3].Ahead);
        Assert.All(shown.Cars, c => Assert.Matches("^(pipeline [0-9]+|its pipeline|its rebase|the car ahead to push|the train's verdict|the cars ahead to land|GitLab's merge)", c.WaitsFor));
        Assert.Contains(shown.Cars, c => c.PipelineId is not null && c.WaitsFor == $"pipeline {c.PipelineId}");

        var outcomes = new List<MergeRequestWorkflow>();
        foreach (var iid in mrs) outcomes.Add(await h.WaitForOutcome(iid, 1, TrainTime));
        await TellAsync(h, mrs);

        Assert.Equal([WorkflowState.Completed, WorkflowState.Failed, WorkflowState.Completed, WorkflowState.Completed], outcomes.Select(s => s.State));
        Assert.StartsWith("CI failed! (car 2 of the merge train of `main`", outcomes[1].Outcome);
        // Landed in order, each exactly what its pipeline tested: main's new history is the three tested heads.
        var maintainer = h.As("maintainer");
        var landed = new[] { outcomes[0], outcomes[2], outcomes[3] };
        foreach (var s in landed)
            Assert.Equal(s.RebasedSha, (await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{s.PipelineId}"))["sha"]!.GetValue<string>());
        Assert.Equal(landed.Select(s => s.RebasedSha!).Reverse(), await NewOnMainAsync(h, before));
        var mergedAt = new List<DateTimeOffset>();
        foreach (var iid in new[] { mrs[0], mrs[2], mrs[3] })
            mergedAt.Add((await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["merged_at"]!.GetValue<DateTimeOffset>());
        Assert.Equal(mergedAt.Order(), mergedAt);
        Assert.DoesNotContain(await NewOnMainAsync(h, before), sha => sha == outcomes[1].RebasedSha);
        // Three and four were rebuilt without two: their first pipelines (which held two's change) were cancelled.
        Assert.Empty(outcomes[2].Car!.Ahead);
        Assert.Equal([mrs[2]], outcomes[3].Car!.Ahead);
        foreach (var iid in new[] { mrs[2], mrs[3] })
        {
            var pipelines = await OurPipelinesAsync(h, iid);
            Assert.True(pipelines.Count >= 2, $"!{iid} ran {pipelines.Count} pipeline(s)");
            Assert.Equal("canceled", (await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{pipelines[0]}"))["status"]!.GetValue<string>());
            var events = (await h.Grain(iid).GetEvents()).Where(e => e.Type == "train_car_assigned").ToList();
            Assert.Contains(events, e => e.Data.Contains("the train was rebuilt"));
            Assert.Contains(await h.NotesAsync(iid), n => n.Contains("was rebuilt"));
        }
        // The outcome notes say which car each rode and why it was rebuilt.
        Assert.Contains(await h.NotesAsync(mrs[1]), n => n.StartsWith("I couldn't merge") && n.Contains("It rode car 2 of the merge train of `main`, tested on top of !" + mrs[0]));
        Assert.Contains(await h.NotesAsync(mrs[3]), n => n.StartsWith("Merged as") && n.Contains($"It rode car 2 of the merge train of `main`, tested on top of !{mrs[2]}. Its car was rebuilt"));
        // The note announcing a car behind others says the merge request's page shows them meanwhile.
        Assert.Contains(await h.NotesAsync(mrs[3]), n => n.Contains("this page's diff also shows their changes"));
        foreach (var iid in mrs) Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
        var train = await Train(h).GetTrain();
        Assert.True(train.Consistent);
        Assert.Equal([mrs[0], mrs[2], mrs[3]], train.Landed);
        Assert.True(await MostAtOnceAsync(h, mrs) <= 4);
    }

    [Fact]
    public async Task Given_a_train_deeper_than_its_pipeline_budget_When_four_cars_run_Then_never_more_than_max_pipelines_run_at_once_and_all_land_in_order()
    {
        await using var h = await StartTrainAsync("trainbudget", depth: 4, maxPipelines: 2);
        var before = await h.MainHead();
        var mrs = new List<long>();
        for (var i = 1; i <= 4; i++)
            mrs.Add(await h.OpenMrAsync($"budget-{i}", $"Budget {i}", new FileChange("create", $"budget-{i}.txt", $"{i}\n")));
        await EnqueueInOrderAsync(h, mrs);

        var outcomes = new List<MergeRequestWorkflow>();
        foreach (var iid in mrs) outcomes.Add(await h.WaitForOutcome(iid, 1, TrainTime));
        await TellAsync(h, mrs);

        Assert.All(outcomes, s => Assert.Equal(WorkflowState.Completed, s.State));
        Assert.Equal(outcomes.Select(s => s.RebasedSha!).Reverse(), await NewOnMainAsync(h, before));
        var most = await MostAtOnceAsync(h, mrs);
        Assert.InRange(most, 1, 2);
        Assert.True((await Train(h).GetTrain()).Consistent);
    }

    private Task<WorkflowHarness> StartTrainAsync(string suffix, int depth, int maxPipelines) => StartTrainAsync(db, sandbox, suffix, depth, maxPipelines, "ff");

    /// <summary>A harness whose project merges by <paramref name="mergeMethod"/>, with a merge train policy.</summary>
    internal static async Task<WorkflowHarness> StartTrainAsync(SchemaFixture db, SandboxFixture sandbox, string suffix, int depth, int maxPipelines,
        string mergeMethod)
    {
        var h = await WorkflowHarness.StartAsync(db, sandbox, suffix);
        (await h.As("maintainer").PutAsJsonAsync($"projects/{h.Upstream}", new { merge_method = mergeMethod })).EnsureSuccessStatusCode();
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with
        {
            Train = new MergeTrainPolicy(MergeTrainPolicy.MergeTrainStrategy, depth, maxPipelines),
        });
        return h;
    }

    /// <summary>Each joins the train after the one before, so the cars are in the order given.</summary>
    internal static async Task EnqueueInOrderAsync(WorkflowHarness h, IEnumerable<long> mrs)
    {
        foreach (var iid in mrs)
        {
            await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
            await Eventually.True(async () => (await Train(h).GetTrain()) is var t && (t.Waiting.Contains(iid) || t.Cars.Any(c => c.Iid == iid)),
                $"!{iid} to join the train", TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>Each merge request's story and the train's, in the test's output: what to read when an assertion fails.</summary>
    private Task TellAsync(WorkflowHarness h, IEnumerable<long> mrs) => TellAsync(h, mrs, output);

    internal static async Task TellAsync(WorkflowHarness h, IEnumerable<long> mrs, Xunit.Abstractions.ITestOutputHelper output)
    {
        foreach (var iid in mrs)
            foreach (var e in await h.Grain(iid).GetEvents())
                output.WriteLine($"!{iid} {e.At:HH:mm:ss.fff} {e.Type} {(e.Data.Length > 600 ? e.Data[..600] : e.Data)}");
        foreach (var iid in mrs)
            foreach (var note in await h.NotesAsync(iid))
                output.WriteLine($"!{iid} note: {note}");
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(await Train(h).GetTrain()));
    }

    internal static ITrainGrain Train(WorkflowHarness h) => h.Cluster.GrainFactory.GetGrain<ITrainGrain>(new MergeQueueKey(h.Upstream, "main").ToString());

    /// <summary>The commits main gained since <paramref name="before"/>, newest first.</summary>
    private static async Task<IReadOnlyList<string>> NewOnMainAsync(WorkflowHarness h, string before)
    {
        var commits = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/repository/commits?ref_name=main&per_page=100")).AsArray();
        return [.. commits.Select(c => c!["id"]!.GetValue<string>()).TakeWhile(sha => sha != before)];
    }

    /// <summary>Our pipelines for a merge request, oldest first, as its stream recorded them.</summary>
    internal static async Task<List<long>> OurPipelinesAsync(WorkflowHarness h, long iid) =>
        [.. (await h.Grain(iid).GetEvents()).Where(e => e.Type == "pipeline_created")
            .Select(e => JsonNode.Parse(e.Data)!["pipelineId"]!.GetValue<long>())];

    /// <summary>The most of our pipelines that ever ran at once, from GitLab's own times (created to finished).</summary>
    internal static async Task<int> MostAtOnceAsync(WorkflowHarness h, IEnumerable<long> mrs)
    {
        var spans = new List<(DateTimeOffset From, DateTimeOffset To)>();
        foreach (var iid in mrs)
            foreach (var id in await OurPipelinesAsync(h, iid))
            {
                var p = await Eventually.Get(() => h.Get(h.As("maintainer"), $"projects/{h.Upstream}/pipelines/{id}"),
                    p => p["finished_at"] is not null, $"pipeline {id} to finish");
                spans.Add((p["created_at"]!.GetValue<DateTimeOffset>(), p["finished_at"]!.GetValue<DateTimeOffset>()));
            }
        return spans.Max(s => spans.Count(o => o.From <= s.From && s.From < o.To));
    }
}

/// <summary>The sandbox with jobs that take a few seconds each, so that a train's cars run side by side.</summary>
public sealed class SlowJobsSandboxFixture : SandboxFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Sandbox:Ci:JobDelay"] = "00:00:05",
    };
}
