using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A merge request retargeted while our pipeline runs is tested against the wrong branch and was checked for the old
/// one: the attempt ends at the next look at the pipeline, not only at the merge's permission check.
/// </summary>
public sealed class RetargetedWhileBuildingTests
{
    private static MergeRequestFacts Facts(string? target) =>
        new("opened", false, false, true, false, null, RebasedSha, null, null, null, TargetBranch: target);

    private static MergeRequestWorkflow BuildingFor(string? pinned) => WorkflowEvolver.Fold(BuildingWithPipeline) with { TargetBranch = pinned };

    [Fact]
    public void Given_a_build_for_main_When_a_poll_sees_the_mr_retargeted_Then_the_attempt_fails_naming_both_branches()
    {
        var events = WorkflowDecider.Decide(new ObservePipeline(Pipeline, "running", At(10), MergeRequest: Facts("stable")), BuildingFor("main")).Events;

        Assert.IsType<PipelineObserved>(events[0]);
        Assert.Equal("The target branch changed from main to stable after the merge was asked for; ask again for the new target",
            Assert.IsType<AttemptFailed>(events[^1]).Reason);
    }

    [Theory]
    [InlineData("main", "main")]
    [InlineData("main", null)]
    [InlineData(null, "stable")]
    public void Given_a_build_When_the_target_is_unchanged_or_unknown_Then_the_pipeline_goes_on(string? pinned, string? seen)
    {
        var events = WorkflowDecider.Decide(new ObservePipeline(Pipeline, "running", At(10), MergeRequest: Facts(seen)), BuildingFor(pinned)).Events;

        Assert.DoesNotContain(events, e => e is AttemptFailed or AttemptCancelled);
    }
}
