using Orchestrator.Domain;

namespace Orchestrator.Tests.Domain;

/// <summary>Streams that bring a workflow to each state, built from the events a real run records.</summary>
internal static class Histories
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
    public static DateTimeOffset At(int minute) => T0.AddMinutes(minute);

    public const string RebasedSha = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    public const string TargetSha = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
    public const string Digest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
    public const long Pipeline = 4711;

    public static readonly ImageAssessment StaleBuildImage =
        new("debian/x86_64_build", "20261128-A", FreshnessVerdict.Stale, "c3c3c3", "target HEAD is not an ancestor of fdo.commit");

    public static readonly BuiltImage BuiltBuildImage =
        new("debian/x86_64_build", "20261128-A", Digest, RebasedSha, Pipeline);

    public static IWorkflowEvent[] Queued => [new MergeRequested(1, "marge", At(0))];
    public static IWorkflowEvent[] Rebasing => [.. Queued, new RebaseStarted(1, 1, "queue granted the target branch", At(1))];
    public static IWorkflowEvent[] Checking => [.. Rebasing, new Rebased(1, RebasedSha, TargetSha, At(2))];
    public static IWorkflowEvent[] Building => [.. Checking, new FreshnessChecked(1, RebasedSha, [StaleBuildImage], false, At(3))];
    public static IWorkflowEvent[] BuildingWithPipeline => [.. Building, new PipelineCreated(1, Pipeline, RebasedSha, true, At(4))];
    public static IWorkflowEvent[] Verifying => [.. BuildingWithPipeline, new PipelineObserved(1, Pipeline, "success", At(30))];
    public static IWorkflowEvent[] Promoting => [.. Verifying, new BuildVerified(1, TargetSha, [BuiltBuildImage], At(31))];
    public static IWorkflowEvent[] Merging =>
        [.. Promoting, new ImagePromoted(1, BuiltBuildImage.Name, BuiltBuildImage.Tag, Digest, "mesa/mesa", At(32))];
    public static IWorkflowEvent[] Completed => [.. Merging, new Merged(1, "d4d4d4", At(33))];
    public static IWorkflowEvent[] Failed => [.. Queued, new AttemptFailed(1, WorkflowState.Queued, "CI failed!", At(5))];
    public static IWorkflowEvent[] Cancelled => [.. Queued, new AttemptCancelled(1, "api", "no longer wanted", At(5))];

    public static readonly IReadOnlyDictionary<WorkflowState, IWorkflowEvent[]> ByState = new Dictionary<WorkflowState, IWorkflowEvent[]>
    {
        [WorkflowState.None] = [],
        [WorkflowState.Queued] = Queued,
        [WorkflowState.Rebasing] = Rebasing,
        [WorkflowState.Checking] = Checking,
        [WorkflowState.Building] = BuildingWithPipeline,
        [WorkflowState.Verifying] = Verifying,
        [WorkflowState.Promoting] = Promoting,
        [WorkflowState.Merging] = Merging,
        [WorkflowState.Completed] = Completed,
        [WorkflowState.Failed] = Failed,
        [WorkflowState.Cancelled] = Cancelled,
    };

    /// <summary>A freshness check as recorded before observations were (its verdicts taken as they are).</summary>
    public static RecordFreshness Assessed(IReadOnlyList<ImageAssessment> images, bool allowUnbumped, DateTimeOffset at) => new(null, allowUnbumped, at, images);

    /// <summary>What GitLab shows after a refused merge that the classification reads as <paramref name="kind"/>.</summary>
    public static MergeRefusalFacts After(MergeRefusal kind) => kind switch
    {
        MergeRefusal.StillChecking => new(RebasedSha, TargetSha, "checking"),
        MergeRefusal.TargetMoved => new(RebasedSha, "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", "mergeable"),
        MergeRefusal.SourceChanged => new("ffffffffffffffffffffffffffffffffffffffff", TargetSha, "mergeable"),
        _ => new(RebasedSha, TargetSha, "draft_status"),
    };

    public static MergeRequestWorkflow Fold(IEnumerable<IWorkflowEvent> events) => WorkflowEvolver.Fold(events);
}
