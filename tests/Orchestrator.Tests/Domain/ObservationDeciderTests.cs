using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>The rules the shell used to apply, now decided from the facts it observed: preconditions, rebases, merges, pipelines.</summary>
public sealed class ObservationDeciderTests
{
    /// <summary>An open, approved, mergeable same-project MR at the rebased head.</summary>
    public static readonly MergeRequestFacts Ready = new("opened", false, false, true, false, null, RebasedSha, 1, 0, 1);

    /// <summary>A history whose request came from an API token acting on its own authority: always allowed, so only the MR is judged.</summary>
    private static IWorkflowEvent[] ByToken(IWorkflowEvent[] history) =>
        [new MergeRequested(1, "ci-bot", At(0), Requester.ApiToken("ci-bot")), .. history.Skip(1)];

    private static RecordCheckpoint Checkpoint(PermissionCheckpoint at, MergeRequestFacts mr, int requiredApprovals = 0,
        ProjectPolicy? suggested = null, IReadOnlyList<TagDigest>? imagesNow = null, int minute = 40) =>
        new(at, "main", null, [], At(minute), mr, requiredApprovals, suggested, imagesNow);

    private static string FailureOf(IReadOnlyList<IWorkflowEvent> events) => Assert.IsType<AttemptFailed>(Assert.Single(events.Skip(1))).Reason;

    public static TheoryData<string, MergeRequestFacts, int, string> Unmet() => new()
    {
        { "open", Ready with { State = "closed" }, 0, "the merge request is closed" },
        { "not_draft", Ready with { Draft = true }, 0, "Sorry, I can't merge requests marked as Draft!" },
        { "no_conflicts", Ready with { HasConflicts = true }, 0, "the merge request has conflicts with the target branch" },
        { "discussions_resolved", Ready with { BlockingDiscussionsResolved = false }, 0, "Merge request has unresolved discussions" },
        { "fork_allows_collaboration", Ready with { IsFork = true, AllowCollaboration = false }, 0, "does not allow commits from members" },
        { "approved", Ready with { ApprovalsGiven = 0, ApprovalsLeft = 1 }, 0, "Insufficient approvals (have: 0, need: 1)" },
        { "approved (policy)", Ready, 2, "Insufficient approvals (have: 1, need: 2)" },
        { "approved (not looked at)", Ready with { ApprovalsGiven = null, ApprovalsLeft = null, ApprovalsRequired = null }, 0, "approvals could not be looked at" },
        { "source_unchanged", Ready with { Sha = "ffff" }, 0, WorkflowDecider.SomeonePushed },
    };

    [Theory]
    [MemberData(nameof(Unmet))]
    public void Given_a_merge_about_to_happen_When_a_precondition_is_unmet_Then_the_check_and_the_failure_are_recorded(
        string precondition, MergeRequestFacts mr, int requiredApprovals, string reason)
    {
        var events = Given(ByToken(Merging)).When(Checkpoint(PermissionCheckpoint.Merge, mr, requiredApprovals)).ThenEvents();
        Assert.Equal(mr, Assert.IsType<PermissionChecked>(events[0]).MergeRequest);
        Assert.Contains(reason, FailureOf(events));
        Assert.False(string.IsNullOrEmpty(precondition));
    }

    [Fact]
    public void Given_a_merge_about_to_happen_When_every_precondition_holds_Then_only_the_check_is_recorded() =>
        Assert.Single(Given(ByToken(Merging)).When(Checkpoint(PermissionCheckpoint.Merge, Ready)).ThenEvents());

    [Fact]
    public void Given_a_new_request_When_the_mr_is_not_rebased_yet_Then_its_head_is_not_taken_for_someones_push() =>
        Assert.Single(Given(ByToken(Queued)).When(Checkpoint(PermissionCheckpoint.Request, Ready with { Sha = "anything" }, minute: 1)).ThenEvents());

    [Fact]
    public void Given_a_project_whose_images_nothing_checks_When_requested_Then_it_is_refused_with_the_suggested_policy()
    {
        var suggested = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", ".gitlab-ci/image-tags.yml", "DEBIAN_BUILD_TAG", [".gitlab-ci/container/**"])], "mesa/mesa");
        var reason = FailureOf(Given(ByToken(Queued)).When(Checkpoint(PermissionCheckpoint.Request, Ready, suggested: suggested, minute: 1)).ThenEvents());
        Assert.Contains("has no image policy", reason);
        Assert.Contains("\"tagKey\": \"DEBIAN_BUILD_TAG\"", reason);
    }

    [Fact]
    public void Given_a_tested_image_When_its_tag_moved_before_the_merge_Then_nothing_merges_and_the_note_names_both_digests()
    {
        IWorkflowEvent[] verified = [.. BuildingWithPipeline, new PipelineObserved(1, Pipeline, "success", At(30)),
            new BuildVerified(1, TargetSha, [BuiltBuildImage], At(31), new VerificationEvidence("mesa/mesa", [], [], [], []))];
        var upstream = $"mesa/mesa/{BuiltBuildImage.Name}";
        var reason = FailureOf(Given(ByToken(verified)).When(Checkpoint(PermissionCheckpoint.Merge, Ready,
            imagesNow: [new TagDigest(upstream, BuiltBuildImage.Tag, "sha256:other")])).ThenEvents());
        Assert.Contains($"{upstream}:{BuiltBuildImage.Tag} now points at sha256:other, not at the {BuiltBuildImage.Digest} our jobs ran on", reason);
        Assert.Single(Given(ByToken(verified)).When(Checkpoint(PermissionCheckpoint.Merge, Ready,
            imagesNow: [new TagDigest(upstream, BuiltBuildImage.Tag, BuiltBuildImage.Digest)])).ThenEvents());
        // Streams recorded before rules/4 named the image alone: they replay to the same verdict.
        Assert.Equal(2, Given(ByToken(verified)).When(Checkpoint(PermissionCheckpoint.Merge, Ready,
            imagesNow: [new TagDigest(BuiltBuildImage.Name, BuiltBuildImage.Tag, "sha256:other")])).ThenEvents().Count);
    }

    [Fact]
    public void Given_a_tested_image_When_a_same_named_image_of_another_repository_moved_Then_it_is_not_the_tested_one()
    {
        IWorkflowEvent[] verified = [.. BuildingWithPipeline, new PipelineObserved(1, Pipeline, "success", At(30)),
            new BuildVerified(1, TargetSha, [BuiltBuildImage], At(31), new VerificationEvidence("mesa/mesa", [], [], [], []))];
        Assert.Single(Given(ByToken(verified)).When(Checkpoint(PermissionCheckpoint.Merge, Ready,
            imagesNow: [new TagDigest($"someone/fork/{BuiltBuildImage.Name}", BuiltBuildImage.Tag, "sha256:other")])).ThenEvents());
    }

    [Theory]
    [InlineData("closed", null, true, "the merge request was closed while we were rebasing it")]
    [InlineData("opened", "Rebase failed: conflicts", true, "Merge conflict: Rebase failed: conflicts")]
    public void Given_a_rebase_When_gitlab_shows_it_cannot_land_Then_the_facts_and_the_failure_are_recorded(string state, string? error, bool requested, string reason)
    {
        var facts = new RebaseFacts(state, "old", "older", TargetSha, error, requested);
        var events = Given(Rebasing).When(new RecordRebase(facts, At(2))).ThenEvents();
        Assert.Equal(facts, Assert.IsType<RebaseStopped>(events[0]).Facts);
        Assert.Equal(reason, FailureOf(events));
    }

    [Fact]
    public void Given_a_rebase_not_asked_for_yet_When_gitlab_still_shows_an_old_merge_error_Then_it_is_not_this_rebases() =>
        Given(Rebasing).When(new RecordRebase(new RebaseFacts("opened", "old", "older", TargetSha, "an old conflict", false), At(2))).ThenNothing();

    [Theory]
    [InlineData("close", "the merge request is closed")]
    [InlineData("draft", "Sorry, I can't merge requests marked as Draft!")]
    [InlineData("push", WorkflowDecider.SomeonePushed)]
    public void Given_our_running_pipeline_When_a_poll_shows_the_mr_changed_Then_the_attempt_stops(string change, string reason)
    {
        var mr = change switch { "close" => Ready with { State = "closed" }, "draft" => Ready with { Draft = true }, _ => Ready with { Sha = "ffff" } };
        var events = Given(BuildingWithPipeline).When(new ObservePipeline(Pipeline, "created", At(10), MergeRequest: mr)).ThenEvents();
        Assert.Equal(mr, Assert.IsType<PipelineObserved>(events[0]).MergeRequest);
        Assert.Equal(reason, FailureOf(events));
    }

    [Fact]
    public void Given_our_running_pipeline_When_a_poll_shows_nothing_new_Then_nothing_is_recorded() =>
        Given(BuildingWithPipeline).When(new ObservePipeline(Pipeline, "created", At(10),
            MergeRequest: Ready with { ApprovalsGiven = null, ApprovalsLeft = null, ApprovalsRequired = null })).ThenNothing();

    [Theory]
    [InlineData("marge-bot", true)]
    [InlineData("MARGE-BOT", true)]
    [InlineData(null, true)]
    [InlineData("maintainer", false)]
    public void Given_a_merging_attempt_When_gitlab_shows_the_mr_merged_Then_a_merge_by_the_bot_is_ours_and_any_other_is_elsewhere(string? by, bool ours)
    {
        var events = Given(Merging).When(new ObserveMerged("m3rg3", by, "marge-bot", At(40), RebasedSha)).ThenEvents();
        if (ours) Assert.Equal("m3rg3", Assert.IsType<Merged>(Assert.Single(events)).MergeCommitSha);
        else Assert.Equal("maintainer", Assert.IsType<MergedElsewhere>(Assert.Single(events)).MergedBy);
    }

    [Fact]
    public void Given_a_merging_attempt_When_gitlab_shows_other_commits_merged_by_the_bot_Then_nothing_of_ours_is_claimed_for_them() =>
        Assert.IsType<MergedElsewhere>(Assert.Single(Given(Merging).When(new ObserveMerged("m3rg3", "marge-bot", "marge-bot", At(40), "ffff")).ThenEvents()));

    [Fact]
    public void Given_a_building_attempt_When_gitlab_shows_the_mr_merged_by_the_bot_Then_it_was_merged_elsewhere_not_by_this_attempt() =>
        Assert.IsType<MergedElsewhere>(Assert.Single(Given(BuildingWithPipeline).When(new ObserveMerged("m3rg3", "marge-bot", "marge-bot", At(10))).ThenEvents()));

    [Theory]
    [InlineData(405, "ffff", TargetSha, "mergeable", MergeRefusal.SourceChanged)]
    [InlineData(409, RebasedSha, TargetSha, "mergeable", MergeRefusal.SourceChanged)]
    [InlineData(422, RebasedSha, "moved", "mergeable", MergeRefusal.TargetMoved)]
    [InlineData(405, RebasedSha, TargetSha, "unchecked", MergeRefusal.StillChecking)]
    [InlineData(405, RebasedSha, TargetSha, "draft_status", MergeRefusal.NotMergeable)]
    public void Given_a_refused_merge_When_gitlab_shows_what_changed_Then_the_decider_classifies_it(int status, string sha, string target, string mergeStatus, MergeRefusal expected) =>
        Assert.Equal(expected, Assert.IsType<MergeRefused>(Given(Merging)
            .When(new RecordMergeRefusal(status, "refused", new MergeRefusalFacts(sha, target, mergeStatus), 3, At(40))).ThenEvents()[0]).Refusal);
}

/// <summary>Our own git's rebase: planned once per rebase, then its outcome decided.</summary>
public sealed class RewriteDeciderTests
{
    private static readonly IReadOnlyList<Orchestrator.Domain.Trailers.Trailer> PartOf = [new("Part-of", "<https://gitlab.example/mesa/mesa/-/merge_requests/7>")];

    [Fact]
    public void Given_a_rebase_When_a_rewrite_is_planned_twice_Then_the_first_plan_stands()
    {
        var plan = new PlanRewrite("f00d", TargetSha, PartOf, "marge-bot", "marge-bot@users.noreply.gitlab.example", At(2));
        var state = Given(Rebasing).When(plan).Then(new RewritePlanned(1, 1, "f00d", TargetSha, PartOf, "marge-bot", "marge-bot@users.noreply.gitlab.example", At(2)));
        Assert.Equal(At(2), state.PlannedRewrite!.At);
        Given([.. Rebasing, new RewritePlanned(1, 1, "f00d", TargetSha, PartOf, "marge-bot", "x", At(2))]).When(plan with { At = At(3) }).ThenNothing();
    }

    [Theory]
    [InlineData("source_moved", "lease refused", "Someone pushed to branch while we were trying to merge")]
    [InlineData("conflict", "c0ffee does not apply (a.txt)", "Merge conflict: c0ffee does not apply (a.txt)")]
    [InlineData("refused", "You are not allowed to push code to this project.", "GitLab refused our rebased commits: You are not allowed to push code to this project.")]
    public void Given_a_planned_rewrite_When_git_could_not_push_it_Then_the_attempt_fails_with_marge_bots_words(string kind, string message, string reason) =>
        Given(Rebasing).When(new RecordRewriteFailure(kind, message, At(3)))
            .Then(new RewriteFailed(1, kind, message, At(3)), new AttemptFailed(1, WorkflowState.Rebasing, reason, At(3)));
}

public sealed class ApprovalResetTests
{
    [Theory]
    [InlineData(true, 2, true)]
    [InlineData(true, 0, false)]
    [InlineData(false, 2, false)]
    public void Given_trailers_to_write_When_the_project_removes_approvals_on_push_Then_approvals_given_are_never_spent_silently(bool resets, int given, bool refused)
    {
        var events = Given(Rebasing).When(new PlanRewrite("f00d", TargetSha, [new("Part-of", "<u>")], "marge-bot", "m@x", At(2), resets, given)).ThenEvents();
        Assert.IsType<RewritePlanned>(events[0]);
        Assert.Equal(refused, events.Count == 2);
        if (refused) Assert.Contains("would drop the 2 approval(s)", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }
}
