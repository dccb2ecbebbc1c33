using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Faults;

public sealed partial class SiloKillTests
{
    /// <summary>
    /// Our git pushed the rewritten commits and GitLab took them, but the silo died before it heard so. The next process
    /// recognises the branch as already at the commits it would make: no second push, no false "someone pushed".
    /// </summary>
    [Fact]
    public async Task Given_our_rewrite_pushed_but_not_recorded_When_the_silo_dies_and_restarts_Then_no_second_push_one_pipeline_and_one_merge()
    {
        await using var run = await BeginAsync("rewritekill");
        var (harness, journal) = (run.Harness, run.Journal);
        var first = run.Start();
        await first.WaitHealthyAsync();
        using var api = run.Api();
        (await api.PutAsJsonAsync($"/api/v1/projects/{harness.Upstream}/policy", new { trailers = new[] { "part-of" } })).EnsureSuccessStatusCode();
        var iid = await harness.OpenMrAsync("rewritten", "Rewritten", new FileChange("create", "rewritten.txt", "r\n"));
        var original = (await harness.Get(harness.As("bob"), $"projects/{harness.Upstream}/repository/branches/rewritten"))["commit"]!["id"]!.GetValue<string>();
        await harness.CommitAsync(harness.As("maintainer"), harness.Upstream, "main", "main moves on", [new FileChange("create", "moved.txt", "m\n")]);
        var key = new MergeRequestKey(harness.Upstream, iid);
        // GitLab takes our push and holds its answer: the process dies before it learns the push landed.
        await harness.Faults(new { routes = new[] { new { method = "POST", path = "git-receive-pack$", hold_ms = 30_000, count = 1 } } });
        (await api.PostAsync($"/api/v1/projects/{harness.Upstream}/merge-requests/{iid}/merge", null)).EnsureSuccessStatusCode();

        await Eventually.True(async () => (await harness.Get(harness.As("bob"), $"projects/{harness.Upstream}/repository/branches/rewritten"))["commit"]!["id"]!
            .GetValue<string>() != original, "our rewritten commits to land on the branch");
        await first.KillAsync();
        var (_, died) = await journal.ReadAsync(key);
        Assert.Single(died.OfType<RewritePlanned>());
        Assert.Empty(died.OfType<Rebased>());

        // Any second push would now be refused by GitLab (and consume this fault): it must never come.
        await harness.Faults(new { routes = new[] { new { method = "POST", path = "git-receive-pack$", status = 500, count = 1 } } });
        run.Start();
        await Eventually.True(async () => (await journal.ReadAsync(key)).Events.OfType<OutcomeNoted>().Any(), "the merge to finish after the restart",
            TimeSpan.FromSeconds(120));

        var (_, stream) = await journal.ReadAsync(key);
        Assert.Equal(WorkflowState.Completed, WorkflowEvolver.Fold(stream).State);
        Assert.Equal((1, 1, 1, 1), (stream.OfType<RewritePlanned>().Count(), stream.OfType<Rebased>().Count(),
            stream.OfType<PipelineCreated>().Count(), stream.OfType<Merged>().Count()));
        Assert.Empty(stream.OfType<RewriteFailed>());
        Assert.Equal(1, await harness.ArmedRoutes());
        Assert.True(WorkflowReplay.Run(stream).Consistent);
    }
}
