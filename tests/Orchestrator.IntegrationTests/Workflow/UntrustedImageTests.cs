extern alias sandbox;

using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using sandbox::Sandbox.Seed;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>Fork images are untrusted: what counts is what our pipeline, in the target project, built and ran on.</summary>
public sealed class UntrustedImageTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private static FileChange[] FixForLibfoo2 =>
    [
        new("update", ".gitlab-ci/container/debian/x86_64_build.sh", IncidentFiles.ToolBuild(api: 2)),
        new("update", "tests/requirements.txt", IncidentFiles.RequirementsWithFoo(2)),
    ];

    /// <summary>The project's CI with more jobs of the fork owner's: each builds the build image under its tag (forced or not).</summary>
    private static FileChange RogueImageJob(WorkflowHarness h, string tag, bool force) => RogueImageJobs(h, (tag, force));

    private static FileChange RogueImageJobs(WorkflowHarness h, params (string Tag, bool Force)[] jobs)
    {
        var ci = IncidentFiles.GitLabCi + string.Concat(jobs.Select((job, i) => $$"""

            sneaky-{{i}}:
              extends: .fdo.container-build@debian
              stage: container
              variables:
                FDO_REPO_SUFFIX: debian/x86_64_build
                FDO_DISTRIBUTION_TAG: "{{job.Tag}}"{{(job.Force ? "\n    FDO_FORCE_REBUILD: \"1\"" : "")}}
                FDO_DISTRIBUTION_EXEC: bash .gitlab-ci/container/debian/x86_64_build.sh
            """));
        return new FileChange("update", ".gitlab-ci.yml", ci.Replace("FDO_UPSTREAM_REPO: mesa/mesa", $"FDO_UPSTREAM_REPO: {h.UpstreamPath}"));
    }

    [Fact]
    public async Task Given_a_fork_image_under_the_tag_and_a_test_that_echoes_a_forged_runner_line_When_A_merges_Then_only_the_runners_digest_of_our_build_counts()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "forge");
        var registry = h.Cluster.GetSiloServiceProvider().GetRequiredService<IImageRegistry>();
        var forkPath = h.Seed["fork"]!["path"]!.GetValue<string>().ToLowerInvariant();
        var forkImage = await registry.InspectAsync($"{forkPath}/debian/x86_64_build", IncidentFiles.ToolTag);
        Assert.NotNull(forkImage);
        var reference = $"{new Uri(h.Sandbox.RegistryUrl).Authority}/{h.UpstreamPath.ToLowerInvariant()}/debian/x86_64_build:{IncidentFiles.ToolTag}";
        const string forged = "sha256:abababababababababababababababababababababababababababababababab";
        var forgery = $"printf '\\033[0KUsing docker image sha256:{new string('c', 64)} for {reference} with digest {reference.Split(':')[0]}@{forged} ...\\033[0;m\\n'\n";
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2, and a test that claims another image",
            [.. FixForLibfoo2, new FileChange("update", ".gitlab-ci/run-tests.sh", forgery + IncidentFiles.RunTests)]);

        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var merged = await h.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Completed, merged.State);
        var built = Assert.Single(merged.BuiltImages);
        Assert.NotEqual(forged, built.Digest);
        Assert.NotEqual(forkImage.Digest, built.Digest);
        Assert.Equal(built.Digest, await h.UpstreamDigest(IncidentFiles.ToolTag));
        Assert.Contains(forged, await h.Trace(h.As("maintainer"), h.Upstream, merged.PipelineId!.Value, 1));
        var post = await h.WaitForPipeline(h.As("maintainer"), h.Upstream, "main", merged.MergeCommitSha!);
        Assert.Contains($"exists already ({built.Digest})", await h.Trace(h.As("maintainer"), h.Upstream, post["id"]!.GetValue<long>(), 0));
    }

    [Fact]
    public async Task Given_a_fork_mr_whose_pipeline_pushes_over_the_tag_main_uses_When_verified_Then_the_attempt_fails_naming_the_tag_and_nothing_merges()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "guard");
        var mainTagBefore = await h.UpstreamDigest(IncidentFiles.BaseTag);
        Assert.NotNull(mainTagBefore);
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2, and a job that rebuilds main's image",
            [.. FixForLibfoo2, RogueImageJob(h, IncidentFiles.BaseTag, force: true)]);

        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var failed = await h.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.Contains($"debian/x86_64_build:{IncidentFiles.BaseTag} changed from {mainTagBefore}", failed.Outcome);
        Assert.Contains("registry_tampered", await h.EventTypes(h.MrA));
        Assert.Equal("opened", (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{h.MrA}"))["state"]!.GetValue<string>());
        // The tampering is undone: main's tag holds main's image again, not the fork owner's rebuild.
        Assert.Contains("registry_tag_restored", await h.EventTypes(h.MrA));
        Assert.Equal(mainTagBefore, await h.UpstreamDigest(IncidentFiles.BaseTag));
        Assert.True((await h.Grain(h.MrA).Replay()).Consistent);
    }

    /// <summary>
    /// The repro: the fork owner's job plants an image under a new tag of the target's registry; the attempt fails and
    /// the tag is deleted. A maintainer's merge request that then bumps to that tag gets an image our pipeline builds for
    /// it, never the planted one (nor its branch pipeline's: in a project that runs fork pipelines nothing is fresh).
    /// </summary>
    [Fact]
    public async Task Given_a_fork_mr_whose_pipeline_plants_a_new_tag_When_verified_Then_the_tag_is_deleted_and_a_bump_to_it_merges_our_own_build()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "plant");
        const string next = "20261215-next";
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2, and a job that plants an image",
            [.. FixForLibfoo2, RogueImageJob(h, next, force: false)]);

        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var failed = await h.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Failed, failed.State);
        var planted = System.Text.RegularExpressions.Regex.Match(failed.Outcome!, $@"debian/x86_64_build:{next} changed from absent to (sha256:[0-9a-f]{{64}})").Groups[1].Value;
        Assert.NotEmpty(planted);
        Assert.Contains("registry_tag_restored", await h.EventTypes(h.MrA));
        Assert.Null(await h.UpstreamDigest(next));
        Assert.True((await h.Grain(h.MrA).Replay()).Consistent);

        // The bump's own branch pipeline finds no such tag, and builds it from the bump's commit.
        var bump = await h.OpenMrAsync("bump-next", "Bump the build image", new FileChange("update", ".gitlab-ci/image-tags.yml", IncidentFiles.ImageTags(next)));
        var bob = h.As("bob");
        var branchHead = (await h.Get(bob, $"projects/{h.Upstream}/repository/branches/bump-next"))["commit"]!["id"]!.GetValue<string>();
        Assert.Equal("success", (await h.WaitForPipeline(bob, h.Upstream, "bump-next", branchHead))["status"]!.GetValue<string>());
        await h.Grain(bump).Enqueue(Requester.ApiToken("marge-bot"));
        var merged = await h.WaitForOutcome(bump, 1);

        Assert.Equal(WorkflowState.Completed, merged.State);
        var image = Assert.Single(merged.Images);
        // This project runs fork pipelines, so even the bump's own branch image is not taken on its labels: it is rebuilt.
        Assert.Equal((FreshnessVerdict.Stale, branchHead), (image.Verdict, image.FdoCommit));
        Assert.Contains("ci_allow_fork_pipelines_to_run_in_parent_project", (await h.Grain(bump).GetEvents()).Single(e => e.Type == "freshness_checked").Data);
        Assert.True(merged.ForcedRebuild);
        var built = Assert.Single(merged.BuiltImages);
        Assert.NotEqual(planted, built.Digest);
        Assert.Equal(built.Digest, await h.UpstreamDigest(next));
    }

    /// <summary>
    /// The repro of the review's first finding: the fork owner's jobs push over main's tag and plant a new one, then its
    /// tests fail the pipeline. The attempt ends as "CI failed!", and the registry is still read once the pipeline has
    /// stopped: the tampering is recorded and both tags are taken back before the note.
    /// </summary>
    [Fact]
    public async Task Given_a_fork_mr_whose_jobs_overwrite_main_s_tag_and_plant_another_then_fail_When_the_attempt_fails_Then_both_are_taken_back()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "failplant");
        const string next = "20261215-next";
        var mainTagBefore = await h.UpstreamDigest(IncidentFiles.BaseTag);
        Assert.NotNull(mainTagBefore);
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2, jobs that push images, and a test that fails",
            [.. FixForLibfoo2, RogueImageJobs(h, (IncidentFiles.BaseTag, true), (next, false)),
             new FileChange("update", ".gitlab-ci/run-tests.sh", "echo failing on purpose\nexit 1\n")]);

        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var failed = await h.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.Contains("CI failed!", failed.Outcome);
        var events = await h.EventTypes(h.MrA);
        Assert.DoesNotContain("build_verified", events);
        Assert.DoesNotContain("build_rejected", events);
        Assert.Contains("registry_checked", events);
        Assert.Contains("registry_tampered", events);
        Assert.Equal(2, events.Count(e => e == "registry_tag_restored"));
        // Taken back before the note: the attempt's end waited for the read.
        Assert.True(events.ToList().LastIndexOf("registry_tag_restored") < events.ToList().IndexOf("outcome_noted"));
        Assert.Equal(mainTagBefore, await h.UpstreamDigest(IncidentFiles.BaseTag));
        Assert.Null(await h.UpstreamDigest(next));
        Assert.Empty(failed.PendingRestores);
        Assert.Null(failed.RegistryCheck);
        Assert.True((await h.Grain(h.MrA).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_a_project_that_keeps_fork_pipelines_in_the_fork_When_A_is_enqueued_Then_a_clear_note_and_no_fork_pipeline_counts()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "parent");
        (await h.As("maintainer").PutAsJsonAsync($"projects/{h.Upstream}", new { ci_allow_fork_pipelines_to_run_in_parent_project = false }))
            .EnsureSuccessStatusCode();
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2", FixForLibfoo2);

        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var failed = await h.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.Contains("ran the merge request pipeline in the fork", failed.Outcome);
        // One pipeline was made in the fork: recorded as where GitLab ran it (so the attempt stops it if it can), and nothing from it counted.
        var forkPipelines = (await h.Get(h.As("alice"), $"projects/{h.Fork}/pipelines")).AsArray();
        var inFork = Assert.Single(forkPipelines, p => p!["source"]?.GetValue<string>() == "merge_request_event")!;
        Assert.Equal((inFork["id"]!.GetValue<long>(), h.Fork), (failed.PipelineId, failed.PipelineProjectId));
        Assert.DoesNotContain("build_verified", await h.EventTypes(h.MrA));
        var notes = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{h.MrA}/notes")).AsArray();
        Assert.Single(notes, n => n!["body"]!.GetValue<string>().Contains("ran the merge request pipeline in the fork"));
    }

    [Fact]
    public async Task Given_two_images_one_up_to_date_upstream_and_one_to_build_When_A_merges_Then_only_that_one_is_built_and_the_tests_ran_on_the_other_upstream_digest()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "two");
        var maintainer = h.As("maintainer");
        const string testTag = "20261120-lint";
        var lintImage = new ImagePolicy("debian/x86_64_test", ".gitlab-ci/test-image-tags.yml", "DEBIAN_TEST_TAG", [".gitlab-ci/container/test/**"]);
        // Main gains a second image, in files A does not touch, and builds it upstream.
        var ci = IncidentFiles.GitLabCi.Replace("FDO_UPSTREAM_REPO: mesa/mesa", $"FDO_UPSTREAM_REPO: {h.UpstreamPath}")
            .Replace("  - local: .gitlab-ci/image-tags.yml", "  - local: .gitlab-ci/image-tags.yml\n  - local: .gitlab-ci/test-image-tags.yml") + """

            debian/x86_64_test:
              extends: .fdo.container-build@debian
              stage: container
              variables:
                FDO_REPO_SUFFIX: debian/x86_64_test
                FDO_DISTRIBUTION_TAG: $DEBIAN_TEST_TAG
                FDO_DISTRIBUTION_EXEC: bash .gitlab-ci/container/test/build.sh
            lint:
              stage: test
              image: $CI_REGISTRY_IMAGE/debian/x86_64_test:$DEBIAN_TEST_TAG
              script:
                - lint-ok
            """;
        var main = await h.CommitAsync(maintainer, h.Upstream, "main", "ci: a lint image",
        [
            new FileChange("update", ".gitlab-ci.yml", ci),
            new FileChange("create", ".gitlab-ci/test-image-tags.yml", $"variables:\n  DEBIAN_TEST_TAG: \"{testTag}\"\n"),
            new FileChange("create", ".gitlab-ci/container/test/build.sh",
                "set -euo pipefail\nmkdir -p \"$IMAGE_ROOT/bin\"\nprintf '#!/bin/bash\\necho lint ok\\n' > \"$IMAGE_ROOT/bin/lint-ok\"\nchmod +x \"$IMAGE_ROOT/bin/lint-ok\"\n"),
        ]);
        Assert.Equal("success", (await h.WaitForPipeline(maintainer, h.Upstream, "main", main))["status"]!.GetValue<string>());
        var lintDigest = await h.UpstreamDigest(testTag, lintImage.Name);
        Assert.NotNull(lintDigest);
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with
        {
            Images = [WorkflowHarness.BuildImage, lintImage], UnverifiedJobs = [WorkflowHarness.BuildImage.Name, lintImage.Name],
        });
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2", FixForLibfoo2);

        await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
        var merged = await h.WaitForOutcome(h.MrA, 1);

        Assert.Equal(WorkflowState.Completed, merged.State);
        Assert.Equal([FreshnessVerdict.Missing, FreshnessVerdict.Upstream], merged.Images.Select(i => i.Verdict));
        Assert.Equal(lintDigest, merged.BuiltImages.Single(b => b.Name == lintImage.Name).Digest);
        Assert.Equal(lintDigest, await h.UpstreamDigest(testTag, lintImage.Name));
        var lintBuild = await h.Trace(maintainer, h.Upstream, merged.PipelineId!.Value, lintImage.Name);
        Assert.Contains($"exists already ({lintDigest})", lintBuild);
        Assert.DoesNotContain("Building with", lintBuild);
        Assert.Contains("Building with", await h.Trace(maintainer, h.Upstream, merged.PipelineId!.Value, WorkflowHarness.BuildImage.Name));
        Assert.Contains($"@{lintDigest}", await h.Trace(maintainer, h.Upstream, merged.PipelineId!.Value, "lint"));
    }

    [Fact]
    public async Task Given_the_fork_pushes_between_our_sha_check_and_the_pipeline_When_GitLab_runs_the_new_head_Then_the_pipeline_is_cancelled_and_the_note_names_both_shas()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "race");
        await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: libfoo 2", FixForLibfoo2);
        // GitLab is slow to create the merge request pipeline: the fork's owner pushes meanwhile.
        await h.Faults(new { routes = new[] { new { method = "POST", path = $"^/api/v4/projects/{h.Upstream}/merge_requests/{h.MrA}/pipelines$", delay_ms = 3000, count = 1 } } });
        try
        {
            await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
            // The pipeline request has reached GitLab (its fault is spent) and is held there: now the fork pushes.
            await Eventually.True(async () => await h.ArmedRoutes() == 0,
                "the pipeline request to reach GitLab");
            var pushed = await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "sneak in", [new FileChange("create", "sneaky.txt", "late\n")]);
            var failed = await h.WaitForOutcome(h.MrA, 1);

            Assert.Equal(WorkflowState.Failed, failed.State);
            Assert.Contains("Someone pushed to branch while we were trying to merge", failed.Outcome);
            Assert.Contains(pushed, failed.Outcome);
            Assert.Contains(failed.RebasedSha!, failed.Outcome);
            var pipelines = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{h.MrA}/pipelines")).AsArray();
            Assert.Contains(pipelines, p => p!["sha"]!.GetValue<string>() == pushed && p["status"]!.GetValue<string>() == "canceled");
            // Recorded as it ran, so that ending the attempt stopped it; nothing was verified on it.
            Assert.DoesNotContain("build_verified", await h.EventTypes(h.MrA));
            Assert.True((await h.Grain(h.MrA).Replay()).Consistent);
        }
        finally
        {
            await h.Faults(new { });
        }
    }
}
