using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>Step deadlines and the CI timeout: decided from the clock reading, counting only the workflow's own waits.</summary>
public sealed class DeadlineTests
{
    private static ClockReading Clock(DateTimeOffset? watchingSince = null, string? last = null) => new(30, 60, watchingSince, last);

    [Fact]
    public void Given_a_rebase_that_never_lands_When_the_step_deadline_passes_Then_the_attempt_fails_naming_the_step_and_the_last_wait()
    {
        var clock = Clock(At(0), "the rebase has not landed yet");
        var after = Given(Rebasing).When(new ObserveClock(clock, At(32)))
            .Then(new StepTimedOut(1, WorkflowState.Rebasing, At(1), At(32), clock),
                new AttemptFailed(1, WorkflowState.Rebasing,
                    "the rebasing step made no progress for 30 minutes (last: the rebase has not landed yet), the policy's stepTimeoutMinutes", At(32)));
        Assert.Equal(WorkflowState.Failed, after.State);
    }

    [Fact]
    public void Given_a_step_within_its_deadline_When_the_clock_is_read_Then_nothing_is_recorded() =>
        Given(Checking).When(new ObserveClock(Clock(), At(31))).ThenNothing();

    [Fact]
    public void Given_a_merge_request_waiting_in_the_queue_When_hours_pass_Then_the_queue_is_never_timed() =>
        Given(Queued).When(new ObserveClock(Clock(), At(600))).ThenNothing();

    [Fact]
    public void Given_an_orchestrator_that_was_down_When_it_resumes_Then_the_step_counts_from_the_resumption()
    {
        // Checking began at minute 2; the silo came back at minute 100: at minute 120 the step has waited 20 minutes.
        Given(Checking).When(new ObserveClock(Clock(At(100)), At(120))).ThenNothing();
        Given(Checking).When(new ObserveClock(Clock(At(100)), At(131)))
            .Then(new StepTimedOut(1, WorkflowState.Checking, At(100), At(131), Clock(At(100))),
                new AttemptFailed(1, WorkflowState.Checking, "the checking step made no progress for 30 minutes, the policy's stepTimeoutMinutes", At(131)));
    }

    [Fact]
    public void Given_a_rebase_after_the_target_moved_When_the_clock_is_read_Then_the_new_rebase_has_its_own_deadline()
    {
        // Merging from minute 32, the target moved at 50: the second rebase began at 50, not at the attempt's first.
        var history = (IWorkflowEvent[])[.. Merging, new MergeRefused(1, 406, "Branch cannot be merged", MergeRefusal.TargetMoved, At(50), 3),
            new RebaseStarted(1, 2, "target branch moved", At(50))];
        Given(history).When(new ObserveClock(Clock(), At(79))).ThenNothing();
        Assert.IsType<StepTimedOut>(Given(history).When(new ObserveClock(Clock(), At(81))).ThenEvents()[0]);
    }

    [Fact]
    public void Given_a_running_pipeline_When_the_step_deadline_passes_but_not_the_ci_timeout_Then_ci_keeps_its_time() =>
        Given(BuildingWithPipeline).When(new ObserveClock(Clock(), At(60))).ThenNothing();

    [Fact]
    public void Given_a_long_build_When_the_ci_timeout_passes_Then_the_attempt_fails() =>
        Given(BuildingWithPipeline).When(new ObserveClock(Clock(), At(65)))
            .Then(new CiTimedOut(1, Pipeline, At(65), Clock()), new AttemptFailed(1, WorkflowState.Building, "CI is taking too long.", At(65)));

    [Fact]
    public void Given_a_building_step_before_its_pipeline_exists_When_the_step_deadline_passes_Then_the_step_deadline_applies() =>
        Assert.Equal(WorkflowState.Building, Assert.IsType<StepTimedOut>(Given(Building).When(new ObserveClock(Clock(), At(34))).ThenEvents()[0]).Step);

    [Theory]
    [InlineData(WorkflowState.Completed)]
    [InlineData(WorkflowState.Failed)]
    [InlineData(WorkflowState.Cancelled)]
    public void Given_an_ended_attempt_When_the_clock_is_read_late_Then_nothing_is_recorded(WorkflowState state) =>
        Given(ByState[state]).When(new ObserveClock(Clock(), At(900))).ThenNothing();

    [Fact]
    public void Given_a_recorded_deadline_When_replayed_with_the_policy_it_was_decided_on_Then_it_is_consistent()
    {
        var clock = Clock(At(0), "GitLab answered 503: 503 Service Unavailable");
        var stream = (IWorkflowEvent[])[.. Rebasing, .. Given(Rebasing).When(new ObserveClock(clock, At(40))).ThenEvents()];
        var report = WorkflowReplay.Run(stream);
        Assert.True(report.Consistent);
        Assert.Equal(nameof(ObserveClock), report.Decisions[^1].Command);
        // Had the policy allowed an hour, this step would not have ended: replay runs on the recorded limit.
        Assert.False(WorkflowReplay.Run(stream, (c, s) => WorkflowDecider.Decide(
            c is ObserveClock o ? o with { Clock = o.Clock with { StepTimeoutMinutes = 60 } } : c, s)).Consistent);
    }
}

/// <summary>Errors no retry heals end the step after a few; passing ones are the step deadline's to judge.</summary>
public sealed class StepErrorTests
{
    [Fact]
    public void Given_gitlab_refusing_the_ci_configuration_When_it_refuses_a_third_time_Then_the_attempt_fails_with_gitlabs_reason()
    {
        IWorkflowEvent[] history = [.. Building, new StepErrored(1, WorkflowState.Building, "gitlab", 400, "bad yaml", 1, At(5)),
            new StepErrored(1, WorkflowState.Building, "gitlab", 400, "bad yaml", 2, At(6))];
        Given(history).When(new RecordStepError("gitlab", 400, "bad yaml", At(7)))
            .Then(new StepErrored(1, WorkflowState.Building, "gitlab", 400, "bad yaml", 3, At(7)),
                new AttemptFailed(1, WorkflowState.Building, "GitLab refused the request (400): bad yaml", At(7)));
    }

    [Theory]
    [InlineData("gitlab", 500)]
    [InlineData("gitlab", 429)]
    [InlineData("gitlab", 409)]
    [InlineData("registry", 503)]
    public void Given_a_step_When_a_passing_error_comes_Then_nothing_is_recorded(string source, int status) =>
        Given(Building).When(new RecordStepError(source, status, "busy", At(5))).ThenNothing();

    [Fact]
    public void Given_two_refusals_in_the_rebase_When_the_next_step_is_refused_once_Then_its_count_starts_again()
    {
        IWorkflowEvent[] history = [.. Rebasing, new StepErrored(1, WorkflowState.Rebasing, "gitlab", 403, "no", 1, At(2)),
            new StepErrored(1, WorkflowState.Rebasing, "gitlab", 403, "no", 2, At(3)), new Rebased(1, RebasedSha, TargetSha, At(4))];
        Given(history).When(new RecordStepError("registry", 404, "manifest unknown", At(5)))
            .Then(new StepErrored(1, WorkflowState.Checking, "registry", 404, "manifest unknown", 1, At(5)));
    }
}
