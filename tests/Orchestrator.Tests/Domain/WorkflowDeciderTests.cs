using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

public sealed class EnqueueTests
{
    [Fact]
    public void Given_an_unknown_merge_request_When_enqueued_Then_attempt_one_is_queued()
    {
        var state = Given().When(new Enqueue("marge", At(0))).Then(new MergeRequested(1, "marge", At(0)));
        Assert.Equal(WorkflowState.Queued, state.State);
        Assert.Equal(1, state.Attempt);
    }

    [Theory]
    [InlineData(WorkflowState.Queued)]
    [InlineData(WorkflowState.Rebasing)]
    [InlineData(WorkflowState.Checking)]
    [InlineData(WorkflowState.Building)]
    [InlineData(WorkflowState.Verifying)]
    [InlineData(WorkflowState.Promoting)]
    [InlineData(WorkflowState.Merging)]
    public void Given_an_active_attempt_When_enqueued_again_Then_nothing_is_recorded(WorkflowState state)
    {
        var after = Given(ByState[state]).When(new Enqueue("someone-else", At(50))).ThenNothing();
        Assert.Equal(1, after.Attempt);
        Assert.Equal(state, after.State);
    }

    [Theory]
    [InlineData(WorkflowState.Failed)]
    [InlineData(WorkflowState.Cancelled)]
    public void Given_an_ended_attempt_When_enqueued_Then_the_next_attempt_starts(WorkflowState state)
    {
        var after = Given(ByState[state]).When(new Enqueue("marge", At(60))).Then(new MergeRequested(2, "marge", At(60)));
        Assert.Equal(WorkflowState.Queued, after.State);
        Assert.Null(after.Outcome);
    }

    [Fact]
    public void Given_a_merged_request_When_enqueued_Then_it_is_refused_as_a_conflict()
    {
        var rejection = Given(Completed).When(new Enqueue("marge", At(60))).ThenRejected(RejectionKind.Conflict);
        Assert.Contains("d4d4d4", rejection.Reason);
    }
}

public sealed class RebaseTests
{
    [Fact]
    public void Given_a_queued_attempt_When_the_queue_grants_the_branch_Then_the_first_rebase_starts()
    {
        var state = Given(Queued).When(new StartRebase(At(1))).Then(new RebaseStarted(1, 1, "queue granted the target branch", At(1)));
        Assert.Equal(WorkflowState.Rebasing, state.State);
    }

    [Fact]
    public void Given_a_rebasing_attempt_When_the_grant_repeats_Then_nothing_is_recorded() =>
        Given(Rebasing).When(new StartRebase(At(2))).ThenNothing();

    [Fact]
    public void Given_no_attempt_When_a_rebase_is_started_Then_it_is_refused() =>
        Given().When(new StartRebase(At(1))).ThenRejected(RejectionKind.InvalidState);

    [Fact]
    public void Given_a_rebasing_attempt_When_the_rebase_is_recorded_Then_the_check_begins_on_that_sha()
    {
        var landed = RecordRebase.Landed(RebasedSha, TargetSha, At(2));
        var state = Given(Rebasing).When(landed).Then(new Rebased(1, RebasedSha, TargetSha, At(2), landed.Facts));
        Assert.Equal(WorkflowState.Checking, state.State);
        Assert.Equal(RebasedSha, state.RebasedSha);
        Assert.Equal(TargetSha, state.TargetSha);
    }

    [Fact]
    public void Given_a_recorded_rebase_When_the_same_rebase_is_recorded_again_Then_nothing_is_recorded() =>
        Given(Building).When(RecordRebase.Landed(RebasedSha, TargetSha, At(9))).ThenNothing();

    [Fact]
    public void Given_a_recorded_rebase_When_another_sha_is_reported_Then_it_is_refused() =>
        Given(Checking).When(RecordRebase.Landed("ffff", TargetSha, At(9))).ThenRejected(RejectionKind.InvalidState);
}

public sealed class FreshnessTests
{
    [Fact]
    public void Given_a_checking_attempt_When_verdicts_arrive_Then_they_are_recorded_and_the_build_begins()
    {
        var state = Given(Checking)
            .When(Assessed([StaleBuildImage], false, At(3)))
            .Then(new FreshnessChecked(1, RebasedSha, [StaleBuildImage], false, At(3)));
        Assert.Equal(WorkflowState.Building, state.State);
        var image = Assert.Single(state.Images);
        Assert.Equal(FreshnessVerdict.Stale, image.Verdict);
    }

    [Fact]
    public void Given_a_checking_attempt_When_an_image_is_unbumped_Then_the_attempt_fails_with_the_image_named()
    {
        var unbumped = StaleBuildImage with { Verdict = FreshnessVerdict.Unbumped };
        var events = Given(Checking).When(Assessed([unbumped], false, At(3))).ThenEvents();
        Assert.IsType<FreshnessChecked>(events[0]);
        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.Contains("debian/x86_64_build", failed.Reason);
        Assert.Equal(WorkflowState.Checking, failed.FailedIn);
        Assert.Equal(WorkflowState.Failed, events.Aggregate(Fold(Checking), WorkflowEvolver.Evolve).State);
    }

    [Fact]
    public void Given_a_policy_that_allows_unbumped_inputs_When_an_image_is_unbumped_Then_the_build_begins()
    {
        var unbumped = StaleBuildImage with { Verdict = FreshnessVerdict.Unbumped };
        var state = Given(Checking).When(Assessed([unbumped], true, At(3)))
            .Then(new FreshnessChecked(1, RebasedSha, [unbumped], true, At(3)));
        Assert.Equal(WorkflowState.Building, state.State);
    }

    [Fact]
    public void Given_a_building_attempt_When_verdicts_arrive_again_Then_they_are_refused() =>
        Given(Building).When(Assessed([StaleBuildImage], false, At(9))).ThenRejected(RejectionKind.InvalidState);
}

public sealed class PipelineTests
{
    [Fact]
    public void Given_a_building_attempt_When_its_pipeline_is_created_Then_it_is_recorded_with_the_forced_flag()
    {
        var state = Given(Building).When(new RecordPipeline(Pipeline, RebasedSha, true, At(4)))
            .Then(new PipelineCreated(1, Pipeline, RebasedSha, true, At(4)));
        Assert.Equal(Pipeline, state.PipelineId);
        Assert.True(state.ForcedRebuild);
    }

    [Fact]
    public void Given_a_recorded_pipeline_When_it_is_reported_again_Then_nothing_is_recorded() =>
        Given(BuildingWithPipeline).When(new RecordPipeline(Pipeline, RebasedSha, true, At(5))).ThenNothing();

    [Fact]
    public void Given_a_recorded_pipeline_When_a_second_pipeline_is_reported_Then_it_is_refused() =>
        Given(BuildingWithPipeline).When(new RecordPipeline(Pipeline + 1, RebasedSha, true, At(5))).ThenRejected(RejectionKind.Conflict);

    [Fact]
    public void Given_a_building_attempt_When_gitlab_created_the_pipeline_on_another_sha_Then_it_is_recorded_to_be_stopped_and_the_attempt_fails() =>
        Given(Building).When(new RecordPipeline(Pipeline, "0000", true, At(4)))
            .Then(new PipelineCreated(1, Pipeline, "0000", true, At(4)), new AttemptFailed(1, WorkflowState.Building,
                $"Someone pushed to branch while we were trying to merge: pipeline {Pipeline} runs 0000, not the rebased {RebasedSha}; it is cancelled", At(4)));

    [Fact]
    public void Given_a_fork_mr_When_gitlab_ran_its_pipeline_in_the_fork_Then_nothing_from_it_counts() =>
        Assert.Contains("GitLab ran the merge request pipeline in the fork (project 9",
            Assert.IsType<AttemptFailed>(Given(Building).When(new RecordPipeline(Pipeline, RebasedSha, false, At(4), ProjectId: 9, TargetProjectId: 7)).ThenEvents()[1]).Reason);

    [Theory]
    [InlineData("pending")]
    [InlineData("running")]
    [InlineData("manual")]
    [InlineData("waiting_for_callback")]
    public void Given_our_pipeline_When_it_is_still_going_Then_the_status_is_recorded_and_we_keep_waiting(string status)
    {
        var state = Given(BuildingWithPipeline).When(new ObservePipeline(Pipeline, status, At(10)))
            .Then(new PipelineObserved(1, Pipeline, status, At(10)));
        Assert.Equal(WorkflowState.Building, state.State);
        Assert.Equal(status, state.PipelineStatus);
    }

    [Fact]
    public void Given_our_pipeline_When_the_same_status_arrives_twice_Then_the_second_records_nothing() =>
        Given([.. BuildingWithPipeline, new PipelineObserved(1, Pipeline, "running", At(10))])
            .When(new ObservePipeline(Pipeline, "running", At(11))).ThenNothing();

    [Fact]
    public void Given_our_pipeline_When_it_succeeds_Then_verification_begins()
    {
        var state = Given(BuildingWithPipeline).When(new ObservePipeline(Pipeline, "success", At(30)))
            .Then(new PipelineObserved(1, Pipeline, "success", At(30)));
        Assert.Equal(WorkflowState.Verifying, state.State);
    }

    [Theory]
    [InlineData("failed", "CI failed!")]
    [InlineData("canceled", "Someone canceled the CI.")]
    [InlineData("skipped", "CI was skipped: the pipeline ran no job.")]
    public void Given_our_pipeline_When_it_ends_badly_Then_the_attempt_fails_with_marge_bots_reason(string status, string reason) =>
        Given(BuildingWithPipeline).When(new ObservePipeline(Pipeline, status, At(30)))
            .Then(new PipelineObserved(1, Pipeline, status, At(30)), new AttemptFailed(1, WorkflowState.Building, reason, At(30)));

    [Fact]
    public void Given_our_pipeline_When_another_pipeline_reports_Then_nothing_is_recorded() =>
        Given(BuildingWithPipeline).When(new ObservePipeline(999, "failed", At(30))).ThenNothing();

    [Fact]
    public void Given_a_verified_build_When_a_late_success_arrives_Then_nothing_is_recorded() =>
        Given(Promoting).When(new ObservePipeline(Pipeline, "success", At(40))).ThenNothing();

    [Fact]
    public void Given_a_stream_from_before_clock_readings_When_its_ci_timeout_is_replayed_Then_it_still_fails_the_attempt() =>
        Given(BuildingWithPipeline).When(new TimeOut(At(90)))
            .Then(new CiTimedOut(1, Pipeline, At(90)), new AttemptFailed(1, WorkflowState.Building, "CI is taking too long.", At(90)));
}

public sealed class OutcomeNoteTests
{
    [Theory]
    [InlineData(WorkflowState.Completed)]
    [InlineData(WorkflowState.Failed)]
    [InlineData(WorkflowState.Cancelled)]
    public void Given_an_ended_attempt_When_its_note_is_posted_Then_it_is_recorded_once(WorkflowState state)
    {
        var after = Given(ByState[state]).When(new RecordNote(900, At(95))).Then(new OutcomeNoted(1, 900, At(95)));
        Assert.Equal(900, after.OutcomeNoteId);
        Given([.. ByState[state], new OutcomeNoted(1, 900, At(95))]).When(new RecordNote(900, At(96))).ThenNothing();
        Given([.. ByState[state], new OutcomeNoted(1, 900, At(95))]).When(new RecordNote(901, At(96))).ThenRejected(RejectionKind.InvalidState);
    }

    [Fact]
    public void Given_an_active_attempt_When_a_note_is_reported_Then_it_is_refused() =>
        Given(Building).When(new RecordNote(900, At(10))).ThenRejected(RejectionKind.InvalidState);

    [Fact]
    public void Given_a_noted_failure_When_the_next_attempt_starts_Then_its_note_is_still_to_come()
    {
        var state = Given([.. Failed, new OutcomeNoted(1, 900, At(6))]).When(new Enqueue("marge", At(7))).Then(new MergeRequested(2, "marge", At(7)));
        Assert.Null(state.OutcomeNoteId);
    }

    [Fact]
    public void Given_a_rebase_that_left_nothing_of_the_mr_When_recorded_Then_the_attempt_fails_saying_the_changes_already_exist()
    {
        var events = DeciderSpec.Given(Histories.Rebasing).When(RecordRebase.Landed(Histories.TargetSha, Histories.TargetSha, Histories.At(2))).ThenEvents();
        Assert.IsType<Rebased>(events[0]);
        Assert.StartsWith("these changes already exist in branch", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_pipeline_blocked_on_a_manual_job_When_polled_Then_the_attempt_fails_naming_it_unless_the_policy_waits()
    {
        var blocked = new ObservePipeline(Histories.Pipeline, "manual", Histories.At(10), ["deploy"], "fail", "fail");
        var events = DeciderSpec.Given(Histories.BuildingWithPipeline).When(blocked).ThenEvents();
        Assert.Contains("manual job(s) deploy", Assert.IsType<AttemptFailed>(events[1]).Reason);
        var waiting = DeciderSpec.Given(Histories.BuildingWithPipeline).When(blocked with { ManualJobsPolicy = "wait" }).ThenEvents();
        Assert.IsType<PipelineObserved>(Assert.Single(waiting));
        // A webhook said "manual" first: the poll that names the job still decides.
        IWorkflowEvent[] seen = [.. Histories.BuildingWithPipeline, new PipelineObserved(1, Histories.Pipeline, "manual", Histories.At(9))];
        Assert.IsType<AttemptFailed>(DeciderSpec.Given(seen).When(blocked).ThenEvents()[1]);
    }

    [Fact]
    public void Given_a_skipped_pipeline_When_the_policy_passes_skipped_pipelines_Then_the_build_goes_on_to_verification()
    {
        var skipped = new ObservePipeline(Histories.Pipeline, "skipped", Histories.At(10), null, "fail", "pass");
        Assert.Equal(WorkflowState.Verifying, DeciderSpec.Given(Histories.BuildingWithPipeline).When(skipped).Then(
            new PipelineObserved(1, Histories.Pipeline, "skipped", Histories.At(10), null, "fail", "pass")).State);
        Assert.IsType<AttemptFailed>(DeciderSpec.Given(Histories.BuildingWithPipeline).When(skipped with { SkippedPipelinesPolicy = "fail" }).ThenEvents()[1]);
    }
}
