extern alias sandbox;

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using sandbox::Sandbox.Seed;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>Verdicts, queueing and races, each on its own seeded world in the sandbox.</summary>
public sealed class WorkflowScenarioTests(SchemaFixture db, SandboxFixture sandbox, ITestOutputHelper output)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private const string TagFile = ".gitlab-ci/image-tags.yml";
    private static readonly FileChange Readme = new("update", "README.md", "# mesa\nA change that touches no image input.\n");
    // A test job that takes a while, so the test can act while the pipeline runs.
    private static readonly FileChange SlowTests = new("update", ".gitlab-ci/run-tests.sh", "sleep 6\n" + IncidentFiles.RunTests);

    [Fact]
    public async Task Given_an_mr_that_changes_image_inputs_without_a_tag_bump_When_enqueued_Then_it_is_rejected_with_a_note_and_nothing_is_built()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "unb");
        var iid = await h.OpenMrAsync("more-packages", "Add libbaz", new FileChange("update", ".gitlab-ci/container/packages.txt", "libfoo=2\nlibbar=1\nlibbaz=1\n"));

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        Assert.Equal(FreshnessVerdict.Unbumped, Assert.Single(s.Images).Verdict);
        Assert.Contains("without bumping its tag", s.Outcome);
        Assert.Null(s.PipelineId);
        var notes = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}/notes")).AsArray();
        Assert.Single(notes, n => n!["body"]!.GetValue<string>().Contains("without bumping its tag"));
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_an_mr_whose_image_is_already_upstream_When_enqueued_Then_nothing_is_forced_or_promoted_and_it_merges()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "ups");
        var iid = await h.OpenMrAsync("docs", "Docs", Readme);

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        Assert.Equal(FreshnessVerdict.Upstream, Assert.Single(s.Images).Verdict);
        Assert.False(s.ForcedRebuild);
        Assert.Empty(s.Promotions);
        var variables = (await h.Get(h.As("bob"), $"projects/{h.Upstream}/pipelines/{s.PipelineId}/variables")).AsArray();
        Assert.DoesNotContain(variables, v => v!["key"]!.GetValue<string>() == "FDO_FORCE_REBUILD");
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_an_mr_whose_own_image_was_built_on_the_target_head_When_enqueued_Then_it_is_fresh_and_not_rebuilt()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "frs");
        var iid = await h.OpenMrAsync("bump", "Bump the image tag", new FileChange("update", TagFile, "variables:\n  DEBIAN_BUILD_TAG: \"20261120-fresh\"\n"));
        var bob = h.As("bob");
        var branchHead = (await h.Get(bob, $"projects/{h.Upstream}/repository/branches/bump"))["commit"]!["id"]!.GetValue<string>();
        Assert.Equal("success", (await h.WaitForPipeline(bob, h.Upstream, "bump", branchHead))["status"]!.GetValue<string>());

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        var image = Assert.Single(s.Images);
        Assert.Equal(FreshnessVerdict.Fresh, image.Verdict);
        var check = (await h.Grain(iid).GetEvents()).Single(e => e.Type == "freshness_checked");
        Assert.Contains($"\"fdoCommit\":\"{branchHead}\"", check.Data);
        Assert.False(s.ForcedRebuild);
        Assert.Contains("exists already", await h.Trace(bob, h.Upstream, s.PipelineId!.Value, 0));
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    /// <summary>
    /// An image on top of the target, its job confirmed by GitLab, but built from another merge request's commit (as a
    /// fork owner's job in our pipeline would push one): not this request's own, so it is rebuilt, never reused.
    /// </summary>
    [Fact]
    public async Task Given_an_image_another_mr_built_on_the_target_head_When_an_mr_bumping_to_it_is_enqueued_Then_it_is_stale_and_rebuilt_from_its_own_commit()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "frx");
        const string tag = "20261122-other";
        var bob = h.As("bob");
        await h.OpenMrAsync("bump-other", "Bump the image tag", new FileChange("update", TagFile, IncidentFiles.ImageTags(tag)));
        var otherHead = (await h.Get(bob, $"projects/{h.Upstream}/repository/branches/bump-other"))["commit"]!["id"]!.GetValue<string>();
        Assert.Equal("success", (await h.WaitForPipeline(bob, h.Upstream, "bump-other", otherHead))["status"]!.GetValue<string>());
        var othersImage = await h.UpstreamDigest(tag);
        Assert.NotNull(othersImage);
        // Its own branch pipeline finds the tag there already, and builds nothing.
        var iid = await h.OpenMrAsync("bump-mine", "Bump the image tag, and say so",
            new FileChange("update", TagFile, IncidentFiles.ImageTags(tag)), new FileChange("update", "README.md", "# mesa\nbumped\n"));
        var mine = (await h.Get(bob, $"projects/{h.Upstream}/repository/branches/bump-mine"))["commit"]!["id"]!.GetValue<string>();
        Assert.Equal("success", (await h.WaitForPipeline(bob, h.Upstream, "bump-mine", mine))["status"]!.GetValue<string>());

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        var image = Assert.Single(s.Images);
        Assert.Equal((FreshnessVerdict.Stale, otherHead), (image.Verdict, image.FdoCommit));
        var check = (await h.Grain(iid).GetEvents()).Single(e => e.Type == "freshness_checked");
        Assert.Contains("not one of this merge request", check.Data);
        Assert.True(s.ForcedRebuild);
        var built = Assert.Single(s.BuiltImages);
        Assert.NotEqual(othersImage, built.Digest);
        Assert.Equal(s.RebasedSha, built.LabelCommit);
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    /// <summary>
    /// An MR into a side branch bumps to the tag main uses, whose image main built: stale for the side branch, and a forced
    /// rebuild would put an image of the side branch's tree under main's tag. Refused before any pipeline; main's image stays.
    /// </summary>
    [Fact]
    public async Task Given_an_mr_into_a_side_branch_When_its_stale_image_has_the_tag_main_uses_Then_it_is_refused_and_mains_image_is_left_alone()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "shr");
        const string tag = "20261130-main";
        var maintainer = h.As("maintainer");
        (await maintainer.PostAsync($"projects/{h.Upstream}/repository/branches?branch=t5&ref=main", null)).EnsureSuccessStatusCode();
        await h.CommitAsync(maintainer, h.Upstream, "main", "Bump the image tag", [new FileChange("update", TagFile, IncidentFiles.ImageTags(tag))]);
        Assert.Equal("success", (await h.WaitForPipeline(maintainer, h.Upstream, "main", await h.MainHead()))["status"]!.GetValue<string>());
        var mains = await h.UpstreamDigest(tag);
        Assert.NotNull(mains);
        var iid = await h.OpenMrIntoAsync("t5", "t5-bump", "Bump t5's image tag to main's", new FileChange("update", TagFile, IncidentFiles.ImageTags(tag)));

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        Assert.Contains($":{tag} is stale and `main` uses the same tag: rebuilding it for `t5` would replace `main`'s image", s.Outcome);
        Assert.Null(s.PipelineId);
        Assert.Equal(mains, await h.UpstreamDigest(tag));
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_a_same_project_mr_whose_image_went_stale_When_enqueued_Then_only_its_own_force_variable_is_set_and_it_is_rebuilt_and_merged()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "stl");
        var maintainer = h.As("maintainer");
        // The project's CI maps one variable onto this image's FDO_FORCE_REBUILD, and the policy names it.
        var ci = IncidentFiles.GitLabCi.Replace("FDO_UPSTREAM_REPO: mesa/mesa", $"FDO_UPSTREAM_REPO: {h.UpstreamPath}")
            .Replace("FDO_DISTRIBUTION_EXEC: bash .gitlab-ci/container/debian/x86_64_build.sh",
                "FDO_DISTRIBUTION_EXEC: bash .gitlab-ci/container/debian/x86_64_build.sh\n    FDO_FORCE_REBUILD: $FORCE_BUILD_IMAGE");
        await h.CommitAsync(maintainer, h.Upstream, "main", "ci: a force switch per image", [new FileChange("update", ".gitlab-ci.yml", ci)]);
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with
        {
            Images = [WorkflowHarness.BuildImage with { ForceVariable = "FORCE_BUILD_IMAGE" }],
        });
        var iid = await h.OpenMrAsync("bump-stale", "Bump the image tag", new FileChange("update", TagFile, "variables:\n  DEBIAN_BUILD_TAG: \"20261121-stale\"\n"));
        var bob = h.As("bob");
        var branchHead = (await h.Get(bob, $"projects/{h.Upstream}/repository/branches/bump-stale"))["commit"]!["id"]!.GetValue<string>();
        Assert.Equal("success", (await h.WaitForPipeline(bob, h.Upstream, "bump-stale", branchHead))["status"]!.GetValue<string>());
        // Main moves on: the branch's image was not built on top of it any more.
        await h.CommitAsync(maintainer, h.Upstream, "main", "docs", [new FileChange("update", "README.md", "# mesa\nmoved\n")]);

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        Assert.Equal(FreshnessVerdict.Stale, Assert.Single(s.Images).Verdict);
        var variables = (await h.Get(bob, $"projects/{h.Upstream}/pipelines/{s.PipelineId}/variables")).AsArray().Select(v => v!["key"]!.GetValue<string>()).ToList();
        Assert.Contains("FORCE_BUILD_IMAGE", variables);
        Assert.DoesNotContain("FDO_FORCE_REBUILD", variables);
        Assert.Contains("FDO_FORCE_REBUILD is set: building", await h.Trace(bob, h.Upstream, s.PipelineId!.Value, 0));
        Assert.Equal(Assert.Single(s.BuiltImages).Digest, await h.UpstreamDigest("20261121-stale"));
    }

    [Fact]
    public async Task Given_an_mr_whose_changes_already_landed_in_main_When_enqueued_Then_nothing_is_merged_and_the_note_says_so()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "dup");
        var change = new FileChange("update", "README.md", "# mesa\nthe same fix\n");
        var iid = await h.OpenMrAsync("same-fix", "A fix", change);
        await h.CommitAsync(h.As("maintainer"), h.Upstream, "main", "the same fix, landed directly", [change]);
        var watch = await Aftermath.Watch(h, iid);

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        Assert.Equal("these changes already exist in branch `main`", s.Outcome);
        (await watch.Outcome()).Says("I couldn't merge this merge request: these changes already exist in branch `main`")
            .AssignedTo("bob").WithNewPipelines().MainUnchanged().Within(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Given_a_running_build_When_a_maintainer_merges_the_mr_himself_Then_it_ends_as_merged_elsewhere_our_pipeline_stops_and_the_queue_moves_on()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "els");
        var maintainer = h.As("maintainer");
        var iid = await h.OpenMrAsync("slow", "Slow tests", SlowTests);
        var next = await h.OpenMrAsync("after", "After", new FileChange("create", "after.txt", "after\n"));
        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        await h.Grain(next).Enqueue(Requester.ApiToken("marge-bot"));
        var building = await h.WaitForState(iid, s => s.PipelineId is not null);
        var watch = await Aftermath.Watch(h, iid);

        var head = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>();
        await Eventually.True(async () =>
            (await maintainer.PutAsJsonAsync($"projects/{h.Upstream}/merge_requests/{iid}/merge", new { sha = head })).IsSuccessStatusCode, "the maintainer's merge");
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.MergedElsewhere, s.State);
        Assert.StartsWith("merged by @", s.Outcome);
        var pipeline = await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{building.PipelineId}");
        Assert.Equal("canceled", pipeline["status"]!.GetValue<string>());
        // The maintainer's merge is main's new head; our pipeline (already counted before the merge) was its only one.
        var after = await watch.Outcome();
        after.Says("This merge request was merged by @").AssignedTo().WithNewPipelines().Within(TimeSpan.FromSeconds(30));
        Assert.Equal((await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["merge_commit_sha"]!.GetValue<string>(), after.MainHead);
        Assert.Equal(WorkflowState.Completed, (await h.WaitForOutcome(next, 1)).State);
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_a_project_that_builds_images_with_no_policy_When_an_mr_is_enqueued_Then_it_is_refused_with_the_suggested_policy_and_merges_once_one_is_stored()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "nop", withPolicy: false);
        var iid = await h.OpenMrAsync("docs-nop", "Docs", new FileChange("update", "README.md", "# mesa\nno policy\n"));

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var refused = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, refused.State);
        Assert.Contains("has no image policy", refused.Outcome);
        Assert.Contains("\"tagKey\": \"DEBIAN_BUILD_TAG\"", refused.Outcome);
        Assert.Null(refused.PipelineId);
        var notes = (await h.Get(h.As("bob"), $"projects/{h.Upstream}/merge_requests/{iid}/notes")).AsArray();
        Assert.Single(notes, n => n!["body"]!.GetValue<string>().Contains("```json"));

        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath));
        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var merged = await h.WaitForOutcome(iid, 2);
        Assert.Equal(WorkflowState.Completed, merged.State);
        Assert.Equal(FreshnessVerdict.Upstream, Assert.Single(merged.Images).Verdict);
    }

    [Fact]
    public async Task Given_a_held_branch_When_a_draft_is_enqueued_behind_it_Then_the_draft_is_told_at_once_not_when_its_turn_comes()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "early");
        var slow = await h.OpenMrAsync("slow", "Slow tests", SlowTests);
        var draft = await h.OpenMrAsync("draft-early", "Draft: not ready", new FileChange("create", "draft.txt", "wip\n"));
        await h.Grain(slow).Enqueue(Requester.ApiToken("marge-bot"));
        await h.WaitForState(slow, s => s.PipelineId is not null);

        var watch = await Aftermath.Watch(h, draft);
        await h.Grain(draft).Enqueue(Requester.ApiToken("marge-bot"));
        var told = await h.WaitForOutcome(draft, 1);

        Assert.Equal("Sorry, I can't merge requests marked as Draft!", told.Outcome);
        (await watch.Outcome()).Says("Sorry, I can't merge requests marked as Draft!").AssignedTo("bob").WithNewPipelines().MainUnchanged()
            .Within(TimeSpan.FromSeconds(10));
        // The branch's holder is still building: the draft never waited for its turn.
        Assert.True((await h.Grain(slow).GetSnapshot()).Workflow.IsActive);
        Assert.Equal(WorkflowState.Completed, (await h.WaitForOutcome(slow, 1)).State);
    }

    [Fact]
    public async Task Given_an_mr_whose_pipeline_waits_on_a_manual_job_When_it_blocks_Then_the_attempt_fails_at_once_naming_the_job()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "man");
        var ci = IncidentFiles.GitLabCi.Replace("FDO_UPSTREAM_REPO: mesa/mesa", $"FDO_UPSTREAM_REPO: {h.UpstreamPath}") + """

            deploy:
              stage: test
              when: manual
              allow_failure: false
              script:
                - "true"
            """;
        var iid = await h.OpenMrAsync("manual-gate", "A manual gate", new FileChange("update", ".gitlab-ci.yml", ci));
        var watch = await Aftermath.Watch(h, iid);
        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        // Told at once (the CI timeout is 10 minutes), and the pipeline that waited on the manual job is stopped.
        (await watch.Outcome()).Says("CI is waiting on the manual job(s) deploy").AssignedTo("bob").WithNewPipelines("canceled").MainUnchanged()
            .Within(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Given_an_mr_that_breaks_the_ci_file_When_GitLab_refuses_its_pipeline_Then_the_attempt_ends_with_the_reason_and_frees_the_branch()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "noci");
        var iid = await h.OpenMrAsync("no-ci", "Break CI", new FileChange("update", ".gitlab-ci.yml", "stages: [container\n  oops: {\n"));
        var next = await h.OpenMrAsync("after-no-ci", "After", new FileChange("create", "after.txt", "after\n"));
        var watch = await Aftermath.Watch(h, iid);
        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        await h.Grain(next).Enqueue(Requester.ApiToken("marge-bot"));

        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        (await watch.Outcome()).Says("GitLab refused the request (400)").AssignedTo("bob").WithNewPipelines().Within(TimeSpan.FromSeconds(30));
        // The branch was freed for the next one, whose merge is main's head: the broken one never landed.
        var after = await h.WaitForOutcome(next, 1);
        Assert.Equal((WorkflowState.Completed, after.MergeCommitSha), (after.State, await h.MainHead()));
    }

    [Fact]
    public async Task Given_two_mrs_for_one_branch_When_both_are_enqueued_Then_they_merge_one_after_the_other_each_rebased_on_the_last()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "two");
        var first = await h.OpenMrAsync("one", "One", new FileChange("create", "one.txt", "1\n"));
        var second = await h.OpenMrAsync("two", "Two", new FileChange("create", "two.txt", "2\n"));

        await Task.WhenAll(h.Grain(first).Enqueue(Requester.ApiToken("marge-bot")), h.Grain(second).Enqueue(Requester.ApiToken("marge-bot")));
        var a = await h.WaitForOutcome(first, 1);
        var b = await h.WaitForOutcome(second, 1);

        Assert.Equal((WorkflowState.Completed, WorkflowState.Completed), (a.State, b.State));
        var (earlier, later) = (await h.Grain(first).GetEvents()).Last(e => e.Type == "merged").At < (await h.Grain(second).GetEvents()).Last(e => e.Type == "merged").At
            ? (a, b) : (b, a);
        // The later one was rebased onto the earlier merge, and main's first-parent history is the two merges in order.
        Assert.Equal(earlier.MergeCommitSha, later.TargetSha);
        var log = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/repository/commits/{later.MergeCommitSha}"))["parent_ids"]!.AsArray();
        Assert.Equal(earlier.MergeCommitSha, log[0]!.GetValue<string>());
        Assert.True((await h.Grain(first).Replay()).Consistent && (await h.Grain(second).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_a_second_mr_waiting_for_the_branch_When_the_first_releases_it_Then_the_second_starts_at_once_not_at_its_next_poll()
    {
        // Polls every 5 minutes: the first MR is moved by pokes, as webhooks would; the second is never poked.
        // The first one's tests wait for a gate file, so the second surely queues behind it.
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "handoff", pollInterval: TimeSpan.FromMinutes(5));
        var gate = Path.Combine(Path.GetTempPath(), "handoff-gate-" + Guid.NewGuid().ToString("N"));
        var first = await h.OpenMrAsync("first", "First", new FileChange("update", ".gitlab-ci/run-tests.sh",
            IncidentFiles.RunTests + $"\nfor i in $(seq 600); do [ -e {gate} ] && break; sleep 0.1; done\n"));
        var second = await h.OpenMrAsync("second", "Second", new FileChange("create", "second.txt", "2\n"));
        await h.Grain(first).Enqueue(Requester.ApiToken("marge-bot"));
        await h.WaitForState(first, s => s.State == WorkflowState.Building);
        await h.Grain(second).Enqueue(Requester.ApiToken("marge-bot"));
        Assert.Equal(WorkflowState.Queued, (await h.Grain(second).GetSnapshot()).Workflow.State);
        await File.WriteAllTextAsync(gate, "go");

        using var pokes = new CancellationTokenSource();
        var poking = Task.Run(async () =>
        {
            while (!pokes.IsCancellationRequested)
            {
                await h.Grain(first).Poke();
                await Task.Delay(200);
            }
        });
        await h.WaitForOutcome(first, 1);
        await pokes.CancelAsync();
        await poking;
        var merged = (await h.Grain(first).GetEvents()).Single(e => e.Type == "merged").At;

        // The second rebases within seconds of the first merge, though nothing but the queue's hand-over woke it.
        var started = await h.WaitForState(second, s => s.Rebases > 0 || !s.IsActive);
        Assert.True(started.IsActive || started.State == WorkflowState.Completed, started.Outcome);
        var rebaseStarted = (await h.Grain(second).GetEvents()).First(e => e.Type == "rebase_started").At;
        Assert.InRange((rebaseStarted - merged).TotalSeconds, 0, 10);
    }

    [Fact]
    public async Task Given_a_running_build_When_the_target_moves_Then_the_mr_is_rebased_and_verified_again_before_it_merges()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "mov");
        var iid = await h.OpenMrAsync("slow", "Slow tests", SlowTests);
        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        await h.WaitForState(iid, s => s.State == WorkflowState.Building && s.PipelineId is not null);

        var moved = await h.CommitAsync(h.As("maintainer"), h.Upstream, "main", "Someone else's change", [new FileChange("create", "other.txt", "o\n")]);
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        Assert.Equal(2, s.Rebases);
        Assert.Equal(moved, s.TargetSha);
        Assert.Contains("target_moved", await h.EventTypes(iid));
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Theory]
    [InlineData("push", "Someone pushed to branch while we were trying to merge")]
    [InlineData("draft", "Sorry, I can't merge requests marked as Draft!")]
    [InlineData("close", "the merge request is closed")]
    [InlineData("retarget", "The target branch changed from main to stable after the merge was asked for")]
    public async Task Given_a_running_build_When_someone_changes_the_mr_Then_the_attempt_fails_with_marge_bots_reason(string change, string reason)
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "race" + change);
        if (change == "retarget")
            (await h.As("maintainer").PostAsync($"projects/{h.Upstream}/repository/branches?branch=stable&ref=main", null)).EnsureSuccessStatusCode();
        var iid = await h.OpenMrAsync("slow", "Slow tests", SlowTests);
        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        await h.WaitForState(iid, s => s.State == WorkflowState.Building && s.PipelineId is not null);
        var bob = h.As("bob");
        var watch = await Aftermath.Watch(h, iid);

        switch (change)
        {
            case "push":
                await h.CommitAsync(bob, h.Upstream, "slow", "one more thing", [new FileChange("create", "late.txt", "late\n")]);
                break;
            default:
                using (var response = await bob.PutAsJsonAsync($"projects/{h.Upstream}/merge_requests/{iid}", change switch
                       {
                           "draft" => new { draft = true },
                           "retarget" => new { target_branch = "stable" },
                           _ => new { state_event = "close" } as object,
                       }))
                    response.EnsureSuccessStatusCode();
                break;
        }
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        // Noticed while our pipeline ran, which is stopped: nothing waited for it to finish. Back to the author unless closed.
        var after = (await watch.Outcome()).Says(reason).MainUnchanged().Within(TimeSpan.FromSeconds(10));
        if (change == "close") after.AssignedTo(); else after.AssignedTo("bob");
        await Eventually.True(async () => (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/pipelines/{s.PipelineId}"))["status"]!.GetValue<string>() == "canceled",
            "our pipeline to be cancelled");
        // Ours was already there: the only pipeline the case may add is the branch pipeline of bob's own push.
        Assert.Equal(change == "push" ? 1 : 0, after.NewPipelines.Count);
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Theory]
    [InlineData(409, "Someone pushed to branch while we were trying to merge")]
    [InlineData(422, "GitLab refused the merge (422)")]
    public async Task Given_an_image_built_upstream_When_gitlab_refuses_the_merge_Then_the_image_is_deleted_and_the_attempt_fails(int status, string reason)
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "ref" + status);
        var fix = await h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "ci: build mesa-tool against libfoo 2",
        [
            new FileChange("update", ".gitlab-ci/container/debian/x86_64_build.sh", IncidentFiles.ToolBuild(api: 2)),
            new FileChange("update", "tests/requirements.txt", IncidentFiles.RequirementsWithFoo(2)),
        ]);
        await h.Faults(new { routes = new[] { new { method = "PUT", path = $"^/api/v4/projects/{h.Upstream}/merge_requests/{h.MrA}/merge$", status, count = 1 } } });
        try
        {
            await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
            var s = await h.WaitForOutcome(h.MrA, 1);

            Assert.Equal(WorkflowState.Failed, s.State);
            Assert.Contains(reason, s.Outcome);
            var types = await h.EventTypes(h.MrA);
            Assert.Contains("build_verified", types);
            Assert.Contains("merge_refused", types);
            Assert.Contains("upstream_image_cleaned", types);
            Assert.Empty(s.PendingCleanup);
            var repos = (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/registry/repositories?tags=true")).AsArray();
            Assert.DoesNotContain(repos.SelectMany(r => r!["tags"]!.AsArray()), t => t!["name"]!.GetValue<string>() == "20261115-tool");
            Assert.Equal("opened", (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{h.MrA}"))["state"]!.GetValue<string>());
            Assert.True((await h.Grain(h.MrA).Replay()).Consistent);
            output.WriteLine($"{fix}: {s.Outcome}");
        }
        finally
        {
            await h.Faults(new { });
        }
    }
}
