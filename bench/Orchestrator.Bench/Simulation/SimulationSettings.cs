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
/// <param name="RebaseSeconds">The part of the per-car overhead before the car's head is pushed: a car behind it starts only then (with <paramref name="Landing"/>).</param>
/// <param name="Landing">GitLab's part of each landing, one merge at a time (null: folded into the per-car overhead).</param>
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
    int BatchSize = 4,
    LandingCosts? Landing = null,
    double RebaseSeconds = 0);

/// <summary>
/// What a landing costs on GitLab, in seconds, measured on the sandbox. Merges go one at a time: a car whose target did
/// not move since it was tested merges <paramref name="Merge"/> after its pipeline passed; a car that waited for the
/// merge ahead of it merges <paramref name="Chained"/> after that one (the word passing on, GitLab's mergeability check
/// of the moved target, the merge); a car built on the target itself starts <paramref name="Handover"/> after the merge
/// before it.
/// </summary>
public sealed record LandingCosts(double Merge, double Chained, double Handover);
