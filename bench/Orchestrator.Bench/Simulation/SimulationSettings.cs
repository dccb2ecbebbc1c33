namespace Orchestrator.Bench.Simulation;

/// <summary>
/// One simulated branch. Times in minutes. Arrivals are saturated: the queue is topped up to <see cref="Backlog"/>
/// waiting merge requests whenever one leaves, so every strategy always has more work than it can take.
/// </summary>
/// <param name="PipelineMinutes">D: a pipeline's tests, the same for every car.</param>
/// <param name="FailureShare">p: the share of merge requests that break every pipeline testing them.</param>
/// <param name="BumpShare">Merge requests that bump an image tag (a new tag each); every pipeline testing one builds it unless pushed.</param>
/// <param name="BuildMinutes">An image build, before the tests of the pipeline that builds it.</param>
/// <param name="OverheadSeconds">GitLab's fixed cost per car (rebase, pipeline creation, mergeability, merge, webhook and poll delays).</param>
/// <param name="Hours">Simulated time; the first <paramref name="WarmupHours"/> are not counted.</param>
public sealed record SimulationSettings(
    double PipelineMinutes,
    double FailureShare,
    int Budget,
    double BumpShare,
    double BuildMinutes,
    double OverheadSeconds,
    int Backlog,
    double Hours,
    double WarmupHours,
    int Seed,
    int BatchSize = 4);
