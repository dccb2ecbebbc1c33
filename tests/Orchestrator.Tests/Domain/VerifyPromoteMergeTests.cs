using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

public sealed class VerificationTests
{
    [Fact]
    public void Given_a_green_pipeline_When_labels_and_target_match_Then_the_build_is_verified_and_promotion_begins()
    {
        var state = Given(Verifying).When(new RecordVerification(TargetSha, [BuiltBuildImage], 3, At(31)))
            .Then(new BuildVerified(1, TargetSha, [BuiltBuildImage], At(31)));
        Assert.Equal(WorkflowState.Promoting, state.State);
        Assert.Equal(Digest, Assert.Single(state.Images).Digest);
    }

    [Fact]
    public void Given_a_green_pipeline_that_built_nothing_When_verified_Then_merging_begins_directly()
    {
        IWorkflowEvent[] history =
        [
            .. Checking,
            new FreshnessChecked(1, RebasedSha, [StaleBuildImage with { Verdict = FreshnessVerdict.Upstream }], false, At(3)),
            new PipelineCreated(1, Pipeline, RebasedSha, false, At(4)),
            new PipelineObserved(1, Pipeline, "success", At(20)),
        ];
        var state = Given(history).When(new RecordVerification(TargetSha, [], 3, At(21))).Then(new BuildVerified(1, TargetSha, [], At(21)));
        Assert.Equal(WorkflowState.Merging, state.State);
    }

    [Fact]
    public void Given_a_green_pipeline_When_the_target_moved_Then_we_rebase_again()
    {
        var state = Given(Verifying).When(new RecordVerification("e5e5", [BuiltBuildImage], 3, At(31)))
            .Then(new TargetMoved(1, TargetSha, "e5e5", At(31), 3), new RebaseStarted(1, 2, "target branch moved", At(31)));
        Assert.Equal(WorkflowState.Rebasing, state.State);
        Assert.Equal(2, state.Rebases);
        Assert.Null(state.PipelineId);
    }

    [Fact]
    public void Given_the_last_allowed_rebase_When_the_target_moved_again_Then_the_attempt_fails()
    {
        var events = Given(Verifying).When(new RecordVerification("e5e5", [BuiltBuildImage], 1, At(31))).ThenEvents();
        Assert.IsType<TargetMoved>(events[0]);
        Assert.Contains("kept moving", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Theory]
    [InlineData("c3c3c3", Pipeline)]
    [InlineData(RebasedSha, 1234L)]
    [InlineData(null, null)]
    public void Given_a_green_pipeline_When_an_image_carries_other_labels_Then_the_attempt_fails(string? commit, long? pipeline)
    {
        var foreign = BuiltBuildImage with { LabelCommit = commit, LabelPipelineId = pipeline };
        var events = Given(Verifying).When(new RecordVerification(TargetSha, [foreign], 3, At(31))).ThenEvents();
        Assert.IsType<BuildRejected>(events[0]);
        Assert.Contains("not built by this merge request's pipeline", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_forced_rebuild_When_a_stale_image_was_not_rebuilt_Then_the_attempt_fails()
    {
        var events = Given(Verifying).When(new RecordVerification(TargetSha, [], 3, At(31))).ThenEvents();
        Assert.Equal([], Assert.IsType<BuildRejected>(events[0]).Images);
        Assert.Contains("did not build debian/x86_64_build", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }
}

public sealed class PromotionTests
{
    [Fact]
    public void Given_a_verified_image_When_it_is_promoted_by_its_digest_Then_merging_begins()
    {
        var state = Given(Promoting).When(new RecordPromotion(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, "mesa/mesa", At(32)))
            .Then(new ImagePromoted(1, BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, "mesa/mesa", At(32)));
        Assert.Equal(WorkflowState.Merging, state.State);
        Assert.True(state.IsPromoted(BuiltBuildImage.Name, BuiltBuildImage.Tag));
    }

    [Fact]
    public void Given_a_verified_image_When_the_copy_lands_another_digest_Then_it_is_recorded_for_taking_back_and_the_attempt_fails()
    {
        var events = Given(Promoting).When(new RecordPromotion(BuiltBuildImage.Name, BuiltBuildImage.Tag, "sha256:beef", "mesa/mesa", At(32))).ThenEvents();
        Assert.Equal("sha256:beef", Assert.IsType<ImagePromoted>(events[0]).Digest);
        Assert.Equal($"promoting {BuiltBuildImage.Name}:{BuiltBuildImage.Tag} produced sha256:beef, not the verified {Digest}",
            Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_verification_When_an_image_it_never_verified_is_promoted_Then_it_is_refused() =>
        Given(Promoting).When(new RecordPromotion("debian/other", BuiltBuildImage.Tag, Digest, "mesa/mesa", At(32)))
            .ThenRejected(RejectionKind.InvalidInput);

    [Theory]
    [InlineData(null, false)]
    [InlineData("same", false)]
    [InlineData("sha256:someone-elses", true)]
    public void Given_a_verified_image_When_its_upstream_tag_is_looked_at_Then_only_another_image_there_stops_the_promotion(string? there, bool stops)
    {
        var digest = there == "same" ? Digest : there;
        var seen = new ObserveUpstreamTag(BuiltBuildImage.Name, BuiltBuildImage.Tag, $"mesa/mesa/{BuiltBuildImage.Name}", digest, At(32));
        if (!stops)
        {
            Given(Promoting).When(seen).ThenNothing();
            return;
        }
        var events = Given(Promoting).When(seen).ThenEvents();
        Assert.Equal(digest, Assert.IsType<UpstreamTagTaken>(events[0]).Digest);
        Assert.Contains("already exists upstream as sha256:someone-elses; it is never overwritten", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_promoted_image_When_the_promotion_is_reported_again_Then_nothing_is_recorded() =>
        Given(Merging).When(new RecordPromotion(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, "mesa/mesa", At(33))).ThenNothing();

    [Fact]
    public void Given_a_failed_merge_after_promotion_When_the_promotion_is_undone_Then_it_is_no_longer_promoted()
    {
        IWorkflowEvent[] history = [.. Merging, new AttemptFailed(1, WorkflowState.Merging, "GitLab refused the merge", At(34))];
        var state = Given(history).When(new RecordPromotionUndone(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, At(35)))
            .Then(new PromotionUndone(1, BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, At(35)));
        Assert.Empty(state.Promotions);
    }

    [Fact]
    public void Given_a_merged_request_When_its_promotion_would_be_undone_Then_it_is_refused() =>
        Given(Completed).When(new RecordPromotionUndone(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, At(35)))
            .ThenRejected(RejectionKind.InvalidState);

    [Fact]
    public void Given_nothing_promoted_When_an_undo_is_reported_Then_nothing_is_recorded() =>
        Given(Failed).When(new RecordPromotionUndone(BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, At(35))).ThenNothing();

    [Fact]
    public void Given_an_outstanding_promotion_When_the_next_attempt_starts_Then_it_still_knows_the_promotion()
    {
        IWorkflowEvent[] history = [.. Merging, new AttemptFailed(1, WorkflowState.Merging, "GitLab refused the merge", At(34))];
        var state = Given(history).When(new Enqueue("marge", At(40))).Then(new MergeRequested(2, "marge", At(40)));
        Assert.Equal(Digest, Assert.Single(state.Promotions).Digest);
    }
}

public sealed class MergeTests
{
    [Fact]
    public void Given_a_merging_attempt_When_gitlab_merges_Then_the_workflow_completes()
    {
        var state = Given(Merging).When(new RecordMerge("d4d4d4", At(33))).Then(new Merged(1, "d4d4d4", At(33)));
        Assert.Equal(WorkflowState.Completed, state.State);
        Assert.Equal("d4d4d4", state.MergeCommitSha);
    }

    [Fact]
    public void Given_a_completed_merge_When_the_merge_is_reported_again_Then_nothing_is_recorded() =>
        Given(Completed).When(new RecordMerge("d4d4d4", At(34))).ThenNothing();

    [Fact]
    public void Given_a_merging_attempt_When_gitlab_is_still_checking_Then_the_refusal_is_recorded_and_we_stay()
    {
        var state = Given(Merging).When(new RecordMergeRefusal(405, "Method Not Allowed", After(MergeRefusal.StillChecking), 3, At(33)))
            .Then(new MergeRefused(1, 405, "Method Not Allowed", MergeRefusal.StillChecking, At(33), 3, After(MergeRefusal.StillChecking)));
        Assert.Equal(WorkflowState.Merging, state.State);
    }

    [Fact]
    public void Given_a_merging_attempt_When_the_target_moved_Then_we_rebase_again()
    {
        var state = Given(Merging).When(new RecordMergeRefusal(422, "Branch cannot be merged", After(MergeRefusal.TargetMoved), 3, At(33)))
            .Then(new MergeRefused(1, 422, "Branch cannot be merged", MergeRefusal.TargetMoved, At(33), 3, After(MergeRefusal.TargetMoved)),
                new RebaseStarted(1, 2, "target branch moved", At(33)));
        Assert.Equal(WorkflowState.Rebasing, state.State);
        Assert.Single(state.Promotions);
    }

    [Fact]
    public void Given_a_merging_attempt_When_someone_pushed_to_the_source_Then_the_attempt_fails_as_marge_bot_says() =>
        Given(Merging).When(new RecordMergeRefusal(409, "SHA does not match HEAD of source branch: ffff", After(MergeRefusal.SourceChanged), 3, At(33)))
            .Then(new MergeRefused(1, 409, "SHA does not match HEAD of source branch: ffff", MergeRefusal.SourceChanged, At(33), 3, After(MergeRefusal.SourceChanged)),
                new AttemptFailed(1, WorkflowState.Merging, "Someone pushed to branch while we were trying to merge", At(33)));

    [Fact]
    public void Given_a_merging_attempt_When_gitlab_finds_it_not_mergeable_Then_the_attempt_fails_with_gitlabs_words()
    {
        var events = Given(Merging).When(new RecordMergeRefusal(405, "Draft", After(MergeRefusal.NotMergeable), 3, At(33))).ThenEvents();
        Assert.Contains("(405): Draft", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }
}

public sealed class FailAndCancelTests
{
    [Theory]
    [InlineData(WorkflowState.Queued)]
    [InlineData(WorkflowState.Checking)]
    [InlineData(WorkflowState.Merging)]
    public void Given_an_active_attempt_When_cancelled_Then_it_is_cancelled(WorkflowState state)
    {
        var after = Given(ByState[state]).When(new Cancel("api", "unassigned", At(70))).Then(new AttemptCancelled(1, "api", "unassigned", At(70)));
        Assert.Equal(WorkflowState.Cancelled, after.State);
    }

    [Fact]
    public void Given_a_cancelled_attempt_When_cancelled_again_Then_nothing_is_recorded() =>
        Given(Cancelled).When(new Cancel("api", "again", At(70))).ThenNothing();

    [Theory]
    [InlineData(WorkflowState.None)]
    [InlineData(WorkflowState.Completed)]
    [InlineData(WorkflowState.Failed)]
    public void Given_no_active_attempt_When_cancelled_Then_it_is_refused(WorkflowState state) =>
        Given(ByState[state]).When(new Cancel("api", "too late", At(70))).ThenRejected(RejectionKind.InvalidState);

    [Fact]
    public void Given_an_active_attempt_When_it_fails_Then_the_reason_and_the_step_are_recorded() =>
        Given(Rebasing).When(new Fail("Merge conflict in src/x.c", At(5)))
            .Then(new AttemptFailed(1, WorkflowState.Rebasing, "Merge conflict in src/x.c", At(5)));

    [Fact]
    public void Given_a_failed_attempt_When_it_fails_again_Then_it_is_refused() =>
        Given(Failed).When(new Fail("again", At(6))).ThenRejected(RejectionKind.InvalidState);
}
