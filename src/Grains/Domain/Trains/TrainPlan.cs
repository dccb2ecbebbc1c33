namespace Orchestrator.Domain.Trains;

// A plan: what the planner decided from one snapshot, each item with its reason.

[GenerateSerializer, Alias("trains.Landing")]
public sealed record Landing([property: Id(0)] string CarId, [property: Id(1)] IReadOnlyList<long> Mrs, [property: Id(2)] string Reason);

/// <summary>A merge request leaves the train: its car failed on the branch as it really is.</summary>
[GenerateSerializer, Alias("trains.Rejection")]
public sealed record Rejection([property: Id(0)] long Iid, [property: Id(1)] string CarId, [property: Id(2)] string Reason);

/// <summary>A failed batch on the real branch: its merge requests are tested again in groups of at most <see cref="MaxGroup"/>.</summary>
[GenerateSerializer, Alias("trains.Bisection")]
public sealed record Bisection([property: Id(0)] string CarId, [property: Id(1)] IReadOnlyList<long> Mrs, [property: Id(2)] int MaxGroup,
    [property: Id(3)] string Reason);

/// <summary>A car no longer worth anything; its pipeline is cancelled when still running.</summary>
// KeepsBuilds: Its image builds in progress go on (their tags do not depend on what the car assumed).
[GenerateSerializer, Alias("trains.Retirement")]
public sealed record Retirement([property: Id(0)] string CarId, [property: Id(1)] bool CancelPipeline, [property: Id(2)] string Reason,
    [property: Id(3)] bool KeepsBuilds = false);

[GenerateSerializer, Alias("trains.CarStart")]
public sealed record CarStart([property: Id(0)] Car Car, [property: Id(1)] string Reason);

/// <summary>Work a strategy proposed that did not start, and why (the budget, an image not pushed yet).</summary>
[GenerateSerializer, Alias("trains.Hold")]
public sealed record Hold([property: Id(0)] IReadOnlyList<long> Mrs, [property: Id(1)] IReadOnlyList<long> Base, [property: Id(2)] string Reason);

[GenerateSerializer, Alias("trains.TrainPlan")]
public sealed record TrainPlan(
    [property: Id(0)] IReadOnlyList<Landing> Lands,
    [property: Id(1)] IReadOnlyList<Rejection> Rejects,
    [property: Id(2)] IReadOnlyList<Bisection> Splits,
    [property: Id(3)] IReadOnlyList<Retirement> Retires,
    [property: Id(4)] IReadOnlyList<CarStart> Starts,
    [property: Id(5)] IReadOnlyList<Hold> Holds,
    [property: Id(6)] int Window)
{
    public bool Changes(int windowBefore) =>
        Lands.Count + Rejects.Count + Splits.Count + Retires.Count + Starts.Count > 0 || Window != windowBefore;
}
