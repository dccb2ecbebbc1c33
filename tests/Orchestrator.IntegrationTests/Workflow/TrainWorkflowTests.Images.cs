extern alias sandbox;

using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Domain;
using Xunit;
using sandbox::Sandbox.Seed;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// Image-aware cars on the sandbox: one build per bumped tag per train, by the bumping car's own pipeline; the cars
/// behind start once it has pushed and their jobs run on that digest (the runner's lines say so); a failed build takes
/// down only the merge requests needing the tag.
/// </summary>
public sealed partial class TrainWorkflowTests
{
    private const string ContainerJob = "debian/x86_64_build";

    [Fact]
    public async Task Given_two_cars_needing_one_bumped_image_When_the_train_runs_Then_it_is_built_once_both_test_that_digest_and_it_lands_with_main()
    {
        await using var h = await StartTrainAsync("trainimg", depth: 2, maxPipelines: 2);
        const string tag = "20261130-train";
        var before = await h.MainHead();
        // The bump's tests ask for libfoo 2, which only the new image has (main's image was built with libfoo 1): a car
        // running them on any other image fails.
        var bump = await h.OpenMrAsync("img-bump", "Rebuild the image with libfoo 2",
            new FileChange("update", ".gitlab-ci/image-tags.yml", IncidentFiles.ImageTags(tag)),
            new FileChange("update", "tests/requirements.txt", IncidentFiles.RequirementsWithFoo(2)));
        var behind = await h.OpenMrAsync("img-behind", "Behind the bump", new FileChange("create", "behind.txt", "b\n"));
        var maintainer = h.As("maintainer");
        // The bump's branch pipeline has built the tag from the branch's own commit: fresh for it, but in no car's history
        // once rebased, so the train builds it again, once, from the car's head.
        var branchSha = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{bump}"))["sha"]!.GetValue<string>();
        Assert.Equal("success", (await h.WaitForPipeline(maintainer, h.Upstream, "img-bump", branchSha))["status"]!.GetValue<string>());
        var branchBuilt = await h.UpstreamDigest(tag);
        Assert.NotNull(branchBuilt);
        await EnqueueInOrderAsync(h, [bump, behind]);

        var outcomes = new[] { await h.WaitForOutcome(bump, 1, TrainTime), await h.WaitForOutcome(behind, 1, TrainTime) };
        await TellAsync(h, [bump, behind]);
        Assert.All(outcomes, s => Assert.Equal(WorkflowState.Completed, s.State));

        var digest = await h.UpstreamDigest(tag);
        Assert.NotNull(digest);
        Assert.NotEqual(branchBuilt, digest);
        var pipelines = new List<long>();
        foreach (var iid in new[] { bump, behind }) pipelines.AddRange(await OurPipelinesAsync(h, iid));
        Assert.Equal(2, pipelines.Count);
        // Built once: the bump's container job built and pushed it; the car behind's found it and reused it.
        var builds = new List<string>();
        foreach (var pipeline in pipelines) builds.Add(await h.Trace(maintainer, h.Upstream, pipeline, ContainerJob));
        Assert.Contains("Building with", builds[0]);
        Assert.Contains($"({digest})", builds[0]);
        Assert.DoesNotContain("Building with", builds[1]);
        Assert.Contains($"exists already ({digest})", builds[1]);
        // Both tested on that digest, as the runner reported it before their scripts ran.
        foreach (var pipeline in pipelines)
        {
            var (lines, prepared) = RunnerLog.ImageLines(await h.Trace(maintainer, h.Upstream, pipeline, "test"));
            Assert.True(prepared);
            Assert.Equal([digest], lines.Select(l => l.Digest).Distinct());
        }
        foreach (var s in outcomes) Assert.Contains(s.BuiltImages, b => b.Tag == tag && b.Digest == digest);
        // The car behind started its pipeline only once the bump's pipeline had pushed the tag, and tested on it.
        var seen = (await h.Grain(bump).GetEvents()).Single(e => e.Type == "train_car_images_seen");
        Assert.Contains(digest!, seen.Data);
        var behindStarted = (await h.Grain(behind).GetEvents()).Single(e => e.Type == "pipeline_created");
        Assert.True(behindStarted.At > seen.At, $"the car behind started its pipeline at {behindStarted.At:O}, before the push was seen at {seen.At:O}");
        var assigned = (await h.Grain(behind).GetEvents()).Last(e => e.Type == "train_car_assigned");
        Assert.Contains(digest!, assigned.Data);
        // It lands with main: main is exactly the two tested heads, names the tag, and the tag still holds the tested digest.
        Assert.Equal(outcomes.Select(s => s.RebasedSha!).Reverse(), await NewOnMainAsync(h, before));
        var tags = await maintainer.GetStringAsync($"projects/{h.Upstream}/repository/files/{Uri.EscapeDataString(".gitlab-ci/image-tags.yml")}/raw?ref=main");
        Assert.Contains(tag, tags);
        Assert.Equal(digest, await h.UpstreamDigest(tag));
        // The image is the bump's build: labelled with its tested head and its pipeline.
        var labels = await h.Cluster.GetSiloServiceProvider().GetRequiredService<Adapters.IImageRegistry>()
            .InspectAsync($"{h.UpstreamPath.ToLowerInvariant()}/{ContainerJob}", digest!);
        Assert.Equal((outcomes[0].RebasedSha, pipelines[0]), (labels!.Commit, labels.PipelineId!.Value));
        // Which tags each bumps was read at its head and recorded in its own stream before it joined: replay derives it again.
        var bumped = (await h.Grain(bump).GetEvents()).Single(e => e.Type == "train_bumps_observed");
        Assert.Equal([$"{ContainerJob}:{tag}"], System.Text.Json.Nodes.JsonNode.Parse(bumped.Data)!["bumps"]!.AsArray().Select(b => b!.GetValue<string>()));
        Assert.Contains(branchSha, bumped.Data);
        Assert.True(bumped.At < (await h.Grain(bump).GetEvents()).First(e => e.Type == "train_car_assigned").At);
        var notBumped = (await h.Grain(behind).GetEvents()).Single(e => e.Type == "train_bumps_observed");
        Assert.Empty(System.Text.Json.Nodes.JsonNode.Parse(notBumped.Data)!["bumps"]!.AsArray());
        foreach (var iid in new[] { bump, behind }) Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
        var train = await Train(h).GetTrain();
        Assert.True(train.Consistent);
        Assert.Equal([bump, behind], train.Landed);
    }

    [Fact]
    public async Task Given_a_car_behind_a_failing_one_that_pushed_a_bumped_image_When_the_train_is_rebuilt_Then_the_tag_is_built_again_from_the_new_head_and_both_cars_test_and_land_that_digest()
    {
        await using var h = await StartTrainAsync("trainimgre", depth: 3, maxPipelines: 3);
        const string tag = "20261130-rebuilt";
        var before = await h.MainHead();
        var failing = new FileChange("update", ".gitlab-ci/run-tests.sh", "sleep 20\necho 'FAIL: broken on purpose'\nexit 1\n" + IncidentFiles.RunTests);
        var mrs = new[]
        {
            await h.OpenMrAsync("imgre-fails", "Fails its tests, slowly", failing),
            await h.OpenMrAsync("imgre-bump", "Rebuild the image with libfoo 2",
                new FileChange("update", ".gitlab-ci/image-tags.yml", IncidentFiles.ImageTags(tag)),
                new FileChange("update", "tests/requirements.txt", IncidentFiles.RequirementsWithFoo(2))),
            await h.OpenMrAsync("imgre-behind", "Behind the bump", new FileChange("create", "behind.txt", "b\n")),
        };
        await EnqueueInOrderAsync(h, mrs);

        var outcomes = new List<MergeRequestWorkflow>();
        foreach (var iid in mrs) outcomes.Add(await h.WaitForOutcome(iid, 1, TrainTime));
        await TellAsync(h, mrs);

        Assert.Equal([WorkflowState.Failed, WorkflowState.Completed, WorkflowState.Completed], outcomes.Select(s => s.State));
        var maintainer = h.As("maintainer");
        var digest = await h.UpstreamDigest(tag);
        Assert.NotNull(digest);
        // The bump's first car pushed the tag on top of the failing car; the car behind started on that push.
        var seen = (await h.Grain(mrs[1]).GetEvents()).Where(e => e.Type == "train_car_images_seen").ToList();
        Assert.Equal(2, seen.Count);
        var first = System.Text.Json.Nodes.JsonNode.Parse(seen[0].Data)!["pushed"]![0]!["digest"]!.GetValue<string>();
        Assert.NotEqual(digest, first);
        Assert.Contains(digest!, seen[1].Data);
        var behindCars = (await h.Grain(mrs[2]).GetEvents()).Where(e => e.Type == "train_car_assigned").ToList();
        Assert.Contains(first, behindCars[0].Data);
        Assert.Contains(digest!, behindCars[^1].Data);
        // Rebuilt without it, the bump's new car built the tag again from its new head, and the car behind tested on that.
        var pipelines = new[] { (await OurPipelinesAsync(h, mrs[1]))[^1], (await OurPipelinesAsync(h, mrs[2]))[^1] };
        Assert.Contains($"({digest})", await h.Trace(maintainer, h.Upstream, pipelines[0], ContainerJob));
        Assert.Contains($"exists already ({digest})", await h.Trace(maintainer, h.Upstream, pipelines[1], ContainerJob));
        foreach (var pipeline in pipelines)
            Assert.Equal([digest], RunnerLog.ImageLines(await h.Trace(maintainer, h.Upstream, pipeline, "test")).Lines.Select(l => l.Digest).Distinct());
        foreach (var s in outcomes.Skip(1)) Assert.Contains(s.BuiltImages, b => b.Tag == tag && b.Digest == digest);
        Assert.Equal(outcomes.Skip(1).Select(s => s.RebasedSha!).Reverse(), await NewOnMainAsync(h, before));
        foreach (var iid in mrs) Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
        var train = await Train(h).GetTrain();
        Assert.True(train.Consistent);
        Assert.Equal([mrs[1], mrs[2]], train.Landed);
    }

    [Fact]
    public async Task Given_a_train_whose_image_build_fails_When_the_car_building_it_is_judged_Then_only_the_merge_requests_needing_the_image_leave()
    {
        await using var h = await StartTrainAsync("trainimgfail", depth: 4, maxPipelines: 4);
        const string tag = "20261130-broken";
        var before = await h.MainHead();
        var broken = new FileChange("update", ".gitlab-ci/container/debian/x86_64_build.sh", "echo 'the build breaks on purpose'\nexit 1\n");
        var mrs = new[]
        {
            await h.OpenMrAsync("imgfail-ahead", "Ahead of the bump", new FileChange("create", "ahead.txt", "a\n")),
            await h.OpenMrAsync("imgfail-bump", "Bump the image, whose build breaks",
                new FileChange("update", ".gitlab-ci/image-tags.yml", IncidentFiles.ImageTags(tag)), broken),
            // Needs the same new image: its tag file names it too.
            await h.OpenMrAsync("imgfail-needs", "Needs the bumped image",
                new FileChange("update", ".gitlab-ci/image-tags.yml", IncidentFiles.ImageTags(tag)), new FileChange("create", "needs.txt", "n\n")),
            await h.OpenMrAsync("imgfail-after", "After the bump, needing nothing of it", new FileChange("create", "after.txt", "c\n")),
        };
        await EnqueueInOrderAsync(h, mrs);

        var outcomes = new List<MergeRequestWorkflow>();
        foreach (var iid in mrs) outcomes.Add(await h.WaitForOutcome(iid, 1, TrainTime));
        await TellAsync(h, mrs);

        Assert.Equal([WorkflowState.Completed, WorkflowState.Failed, WorkflowState.Failed, WorkflowState.Completed], outcomes.Select(s => s.State));
        Assert.StartsWith("CI failed! (car 2 of the merge train of `main`", outcomes[1].Outcome);
        Assert.Contains($"it needs {ContainerJob}:{tag}, whose build failed in", outcomes[2].Outcome);
        // The build ran once, in the bump's pipeline, and failed there; the merge request needing it never ran a pipeline.
        var bumpPipelines = await OurPipelinesAsync(h, mrs[1]);
        Assert.Single(bumpPipelines);
        Assert.Contains("the build breaks on purpose", await h.Trace(h.As("maintainer"), h.Upstream, bumpPipelines[0], ContainerJob));
        Assert.Contains((await h.Grain(mrs[1]).GetEvents()), e => e.Type == "train_car_images_seen" && e.Data.Contains("failed"));
        Assert.Empty(await OurPipelinesAsync(h, mrs[2]));
        Assert.Null(await h.UpstreamDigest(tag));
        // The merge request after it, which needs nothing of the image, was rebuilt without the two and landed after the first.
        Assert.Empty(outcomes[3].Car!.Ahead);
        Assert.Equal(new[] { outcomes[0], outcomes[3] }.Select(s => s.RebasedSha!).Reverse(), await NewOnMainAsync(h, before));
        foreach (var iid in mrs) Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
        var train = await Train(h).GetTrain();
        Assert.True(train.Consistent);
        Assert.Equal([mrs[0], mrs[3]], train.Landed);
    }
}
