using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.IntegrationTests.Workflow;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Faults;

public sealed partial class SiloKillTests
{
    /// <summary>
    /// A train of three, every car's pipeline running, and the process killed: the next one resumes the train from the
    /// streams, with no pipeline made twice, no push lost or repeated, and the cars landing in order.
    /// </summary>
    [Fact]
    public async Task Given_a_train_of_three_running_When_the_silo_is_killed_and_restarted_Then_it_resumes_with_no_second_pipeline_or_push_and_lands_in_order()
    {
        await using var run = await BeginAsync("trainkill");
        var (harness, journal) = (run.Harness, run.Journal);
        var first = run.Start();
        await first.WaitHealthyAsync();
        using var api = run.Api();
        (await harness.As("maintainer").PutAsJsonAsync($"projects/{harness.Upstream}", new { merge_method = "ff" })).EnsureSuccessStatusCode();
        (await api.PutAsJsonAsync($"/api/v1/projects/{harness.Upstream}/policy", new
        {
            images = new[] { new { name = "debian/x86_64_build", tagFile = ".gitlab-ci/image-tags.yml", tagKey = "DEBIAN_BUILD_TAG", inputs = new[] { ".gitlab-ci/container/**" } } },
            upstreamRepo = harness.UpstreamPath, unverifiedJobs = new[] { WorkflowHarness.BuildImage.Name },
            train = new { strategy = "merge-train", depth = 3 },
        })).EnsureSuccessStatusCode();
        var before = await harness.MainHead();
        // The first car slows the tests down, and every car behind it carries that change: all three run a while.
        var iids = new List<long>
        {
            await harness.OpenMrAsync("train-a", "A", new FileChange("update", ".gitlab-ci/run-tests.sh", "sleep 8\nset -euo pipefail\ntrue\n")),
            await harness.OpenMrAsync("train-b", "B", new FileChange("create", "b.txt", "b\n")),
            await harness.OpenMrAsync("train-c", "C", new FileChange("create", "c.txt", "c\n")),
        };
        foreach (var iid in iids)
        {
            (await api.PostAsync($"/api/v1/projects/{harness.Upstream}/merge-requests/{iid}/merge", null)).EnsureSuccessStatusCode();
            await Eventually.True(async () => (await api.GetFromJsonAsync<JsonNode>($"/api/v1/projects/{harness.Upstream}/queues/main/train"))!
                .ToJsonString().Contains($"\"iid\":{iid}"), $"!{iid} to get a car");
        }
        var keys = iids.Select(i => new MergeRequestKey(harness.Upstream, i)).ToList();
        await Eventually.True(async () =>
        {
            foreach (var key in keys)
                if (!(await journal.ReadAsync(key)).Events.OfType<PipelineCreated>().Any()) return false;
            return true;
        }, "every car's pipeline to run", TimeSpan.FromSeconds(90));

        await first.KillAsync();
        run.Start();
        foreach (var key in keys)
            await Eventually.True(async () => (await journal.ReadAsync(key)).Events.OfType<OutcomeNoted>().Any(), $"!{key.Iid} to finish after the restart",
                TimeSpan.FromSeconds(150));

        var tested = new List<string>();
        foreach (var key in keys)
        {
            var (_, stream) = await journal.ReadAsync(key);
            var s = WorkflowEvolver.Fold(stream);
            Assert.Equal(WorkflowState.Completed, s.State);
            // One car, one rewrite pushed once, one pipeline, one merge.
            Assert.Equal((1, 1, 1, 1, 1), (stream.OfType<TrainCarAssigned>().Count(), stream.OfType<RewritePlanned>().Count(),
                stream.OfType<Rebased>().Count(), stream.OfType<PipelineCreated>().Count(), stream.OfType<Merged>().Count()));
            Assert.True(WorkflowReplay.Run(stream).Consistent);
            tested.Add(s.RebasedSha!);
        }
        var commits = (await harness.Get(harness.As("maintainer"), $"projects/{harness.Upstream}/repository/commits?ref_name=main&per_page=100")).AsArray();
        Assert.Equal(Enumerable.Reverse(tested), commits.Select(c => c!["id"]!.GetValue<string>()).TakeWhile(sha => sha != before));
        // The restarted silo's answer: it listens where the first did.
        var train = (await api.GetFromJsonAsync<JsonNode>($"/api/v1/projects/{harness.Upstream}/queues/main/train"))!;
        Assert.True(train["consistent"]!.GetValue<bool>());
        Assert.Equal(iids, train["landed"]!.AsArray().Select(i => i!.GetValue<long>()));
    }
}
