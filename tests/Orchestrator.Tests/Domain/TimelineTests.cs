using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

public sealed class TimelineTests
{
    [Fact]
    public void Given_a_completed_merge_When_told_as_a_timeline_Then_each_state_is_one_step_with_its_duration()
    {
        IWorkflowEvent[] history = [.. Completed, new OutcomeNoted(1, 77, At(34))];

        var steps = WorkflowTimeline.Of(history);

        Assert.Equal(["queued", "rebasing", "checking", "building", "verifying", "promoting", "merging", "completed"], steps.Select(s => s.Step));
        var building = steps.Single(s => s.Step == "building");
        Assert.Equal((At(3), At(30)), (building.Started, building.Ended));
        Assert.Equal(TimeSpan.FromMinutes(27), building.Duration);
        Assert.Equal(["freshness_checked", "pipeline_created"], building.Entries.Select(e => e.Event));
        Assert.Equal(TimeSpan.Zero, steps[^1].Duration);
        Assert.Equal(["merged", "outcome_noted"], steps[^1].Entries.Select(e => e.Event));
        Assert.Equal(Enumerable.Range(1, history.Length).Select(v => (long)v), steps.SelectMany(s => s.Entries).Select(e => e.Version));
    }

    [Fact]
    public void Given_a_build_rejected_with_no_image_When_told_Then_it_points_at_the_reason_instead_of_counting_zero_images()
    {
        var entries = WorkflowTimeline.Of([.. Verifying, new BuildRejected(1, TargetSha, [], At(31)), new AttemptFailed(1, WorkflowState.Verifying, "tampered", At(31))])
            .SelectMany(s => s.Entries).ToList();

        Assert.Equal("the build was not verified: see the attempt's end for why", entries.Single(e => e.Event == "build_rejected").Summary);
    }

    [Fact]
    public void Given_a_completed_merge_When_told_Then_the_verdict_pipeline_and_digests_are_facts()
    {
        var entries = WorkflowTimeline.Of(Completed).SelectMany(s => s.Entries).ToList();

        var verdict = Assert.Single(entries.Single(e => e.Event == "freshness_checked").Facts);
        Assert.Equal("debian/x86_64_build:20261128-A", verdict.Name);
        Assert.StartsWith("stale — target HEAD is not an ancestor of fdo.commit", verdict.Value);
        Assert.Contains(new TimelineFact("pipeline", Pipeline.ToString()), entries.Single(e => e.Event == "pipeline_created").Facts);
        Assert.Contains(Digest, Assert.Single(entries.Single(e => e.Event == "build_verified").Facts).Value);
        Assert.Contains(new TimelineFact("digest", Digest), entries.Single(e => e.Event == "image_promoted").Facts);
        Assert.Equal("pipeline 4711 created on a1a1a1a1a1a1 with FDO_FORCE_REBUILD=1", entries.Single(e => e.Event == "pipeline_created").Summary);
    }

    [Fact]
    public void Given_an_active_attempt_When_told_Then_its_current_step_is_open()
    {
        var steps = WorkflowTimeline.Of(BuildingWithPipeline);

        Assert.Equal("building", steps[^1].Step);
        Assert.Null(steps[^1].Ended);
        Assert.Null(steps[^1].Duration);
    }

    [Fact]
    public void Given_a_failed_attempt_and_a_second_When_told_Then_the_failure_keeps_its_end_and_the_second_starts_fresh()
    {
        IWorkflowEvent[] history = [.. Failed, new MergeRequested(2, "marge", At(10)), new RebaseStarted(2, 1, "queue granted the target branch", At(11))];

        var steps = WorkflowTimeline.Of(history);

        Assert.Equal([(1, "queued"), (1, "failed"), (2, "queued"), (2, "rebasing")], steps.Select(s => (s.Attempt, s.Step)));
        Assert.Equal(At(5), steps[1].Ended);
        Assert.Equal("failed while queued: CI failed!", steps[1].Entries[0].Summary);
        Assert.Equal(TimeSpan.FromMinutes(1), steps[2].Duration);
    }

    [Fact]
    public void Given_no_events_When_told_Then_there_are_no_steps() =>
        Assert.Empty(WorkflowTimeline.Of([]));
}
