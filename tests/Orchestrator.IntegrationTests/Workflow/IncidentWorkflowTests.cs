extern alias sandbox;

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using sandbox::Sandbox.Seed;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// The seeded incident driven by the orchestrator: MR A's image is built in the upstream project by our pipeline (the
/// fork's registry is never read), the stale image is caught before merge and deleted, and the fixed MR merges with the
/// image its tests ran on, which main's post-merge pipeline then reuses.
/// </summary>
public sealed class IncidentWorkflowTests(SchemaFixture db, SandboxFixture sandbox, ITestOutputHelper output)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_the_incident_When_A_is_enqueued_Then_its_image_is_built_upstream_A_fails_before_merge_and_after_the_fix_it_merges_on_the_tested_digest()
    {
        using var telemetry = new TelemetryCapture();
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "e2e1");
        var maintainer = h.As("maintainer");
        var alice = h.As("alice");
        var mainBefore = h.Seed["main"]!["after_b"]!.GetValue<string>();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var failed = await h.WaitForOutcome(h.MrA, 1);
        output.WriteLine($"attempt 1 ended in {clock.Elapsed.TotalSeconds:F1} s: {failed.Outcome}");

        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.Equal("CI failed!", failed.Outcome);
        var image = Assert.Single(failed.Images);
        // The fork's image is never looked at: upstream has no such tag, so our pipeline must build it.
        Assert.Equal((FreshnessVerdict.Missing, IncidentFiles.ToolTag), (image.Verdict, image.Tag));
        Assert.Equal(h.Upstream, failed.PipelineProjectId);
        var pipeline = await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{failed.PipelineId}");
        Assert.Equal((failed.RebasedSha, "failed", "merge_request_event"),
            (pipeline["sha"]!.GetValue<string>(), pipeline["status"]!.GetValue<string>(), pipeline["source"]!.GetValue<string>()));
        Assert.Contains("mesa-tool needs the libfoo 1 API", await h.Trace(maintainer, h.Upstream, failed.PipelineId!.Value, 0));
        // What our failed pipeline built upstream is gone, so nobody's pipeline reuses it.
        Assert.Null(await h.UpstreamDigest(IncidentFiles.ToolTag));
        var mr = await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{h.MrA}");
        Assert.Equal("opened", mr["state"]!.GetValue<string>());
        Assert.Equal("alice" + "e2e1", mr["assignees"]![0]!["username"]!.GetValue<string>());
        Assert.Equal(mainBefore, (await h.Get(maintainer, $"projects/{h.Upstream}/repository/branches/main"))["commit"]!["id"]!.GetValue<string>());
        var notes = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{h.MrA}/notes")).AsArray();
        Assert.Single(notes, n => n!["body"]!.GetValue<string>().StartsWith("I couldn't merge this merge request: CI failed!"));

        // Alice fixes A for libfoo 2 and asks again.
        var fix = await alice.PostAsJsonAsync($"projects/{h.Fork}/repository/commits", new
        {
            branch = "a-new-tool", commit_message = "ci: build mesa-tool against libfoo 2",
            actions = new[]
            {
                new { action = "update", file_path = ".gitlab-ci/container/debian/x86_64_build.sh", content = IncidentFiles.ToolBuild(api: 2) },
                new { action = "update", file_path = "tests/requirements.txt", content = IncidentFiles.RequirementsWithFoo(2) },
            },
        });
        fix.EnsureSuccessStatusCode();
        clock.Restart();
        Assert.Equal(1, (await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"))).EventsRecorded);
        var merged = await h.WaitForOutcome(h.MrA, 2);
        output.WriteLine($"attempt 2 ended in {clock.Elapsed.TotalSeconds:F1} s: {merged.State} {merged.Outcome}");

        if (merged.State != WorkflowState.Completed && merged.PipelineId is { } failedPipeline)
            foreach (var job in new[] { 0, 1 })
                output.WriteLine(await h.Trace(maintainer, h.Upstream, failedPipeline, job));
        Assert.Equal(WorkflowState.Completed, merged.State);
        var built = Assert.Single(merged.BuiltImages);
        Assert.Empty(merged.Promotions);
        Assert.Equal((merged.RebasedSha, merged.PipelineId), (built.LabelCommit, built.LabelPipelineId));
        // The tested digest is the runner's, and it is the one upstream now.
        Assert.Contains($"with digest", await h.Trace(maintainer, h.Upstream, merged.PipelineId!.Value, 1));
        Assert.Equal(built.Digest, await h.UpstreamDigest(IncidentFiles.ToolTag));
        var after = await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{h.MrA}");
        Assert.Equal(("merged", merged.MergeCommitSha), (after["state"]!.GetValue<string>(), after["merge_commit_sha"]!.GetValue<string>()));

        // The post-merge pipeline finds the tested image upstream and reuses it: no rebuild, the same digest.
        var post = await h.WaitForPipeline(maintainer, h.Upstream, "main", merged.MergeCommitSha!);
        Assert.Equal("success", post["status"]!.GetValue<string>());
        var containerLog = await h.Trace(maintainer, h.Upstream, post["id"]!.GetValue<long>(), 0);
        Assert.Contains($"exists already ({built.Digest})", containerLog);
        Assert.DoesNotContain("Building with", containerLog);
        Assert.Contains("mesa-tool built against libfoo 2", await h.Trace(maintainer, h.Upstream, post["id"]!.GetValue<long>(), 1));

        // One trace for the merged attempt: every step's span, and the GitLab and registry calls made in them.
        var trace = Orchestrator.Telemetry.OrchestratorTelemetry.AttemptContext($"{h.Upstream}/{h.MrA}", 2).TraceId;
        var spans = telemetry.Spans.Where(a => a.TraceId == trace).ToList();
        foreach (var step in new[] { "queued", "rebasing", "checking", "building", "verifying", "merging", "completed" })
            Assert.Contains(spans, a => a.DisplayName == $"step {step}");
        Assert.Contains(spans, a => a.DisplayName == "decide RecordVerification");
        Assert.Contains(spans, a => a.Source.Name == "System.Net.Http" && a.GetTagItem("url.full") is string u && u.Contains("/merge"));
        Assert.All(spans.Where(a => a.Source.Name == "Orchestrator" && a.DisplayName.StartsWith("step ")),
            a => Assert.Equal((long)h.MrA, a.GetTagItem("gitlab.merge_request_iid")));
        Assert.True(telemetry.Sum("orchestrator.workflows", ("outcome", "completed")) >= 1);
        Assert.True(telemetry.Sum("orchestrator.workflows", ("outcome", "failed")) >= 1);
        Assert.True(telemetry.Sum("orchestrator.rebuilds.forced") >= 2);
        Assert.True(telemetry.Sum("orchestrator.step.duration", ("step", "building")) > 0);

        var replay = await h.Grain(h.MrA).Replay();
        Assert.True(replay.Consistent, string.Join("\n", replay.Decisions.Where(d => !d.Same).Select(d => $"{d.Version} {d.Command} {d.Inputs} recorded {string.Join(",", d.Recorded)} decided {string.Join(",", d.Decided)}")));
        Assert.Equal("completed", replay.State);
        var types = await h.EventTypes(h.MrA);
        Assert.Equal(2, types.Count(t => t == "outcome_noted"));
        Assert.Single(types, t => t == "upstream_image_cleaned");
        Assert.DoesNotContain("image_promoted", types);
        Assert.Single(types, t => t == "merged");
    }
}
