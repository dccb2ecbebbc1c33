using Orchestrator.Domain;
using Orchestrator.Domain.Trains;

namespace Orchestrator.Grains;

/// <summary>
/// The merge train of one target branch (key <c>projectId/branch</c>, as the queue's), for projects whose policy asks
/// for one. Its stream holds what it was told and every plan the pure planner decided, with the snapshot each was
/// decided from, so replay re-plans them. It never calls a merge request back and waits: it only pokes them (their
/// own deciders act on the seat they read), so a merge request mid-step calling it cannot deadlock.
/// </summary>
[Alias("ITrainGrain")]
public interface ITrainGrain : IGrainWithStringKey
{
    /// <summary>Joins the train if absent (opening it with <paramref name="policy"/>); the merge request's seat.</summary>
    /// <remarks>
    /// <paramref name="bumps"/>: the image tags (<c>name:tag</c>) its changes bump, for an image-aware train.
    /// <paramref name="attemptStartedAt"/>: a merge request the train took out untested since then is not joined again (its attempt reads the verdict).
    /// </remarks>
    [Alias("Join")]
    Task<TrainSeat> Join(long iid, TrainPolicy policy, DateTimeOffset at, IReadOnlyList<string>? bumps = null, DateTimeOffset? attemptStartedAt = null);

    [Alias("Seat")]
    Task<TrainSeat> Seat(long iid);

    /// <summary>The car's speculative head is pushed to the merge request's branch.</summary>
    [Alias("ReportHead")]
    Task<TrainSeat> ReportHead(long iid, string carId, string sha, DateTimeOffset at);

    /// <summary>The car's pipeline failed: a verdict on the merge request once every car ahead has landed.</summary>
    [Alias("ReportFailed")]
    Task<TrainSeat> ReportFailed(long iid, string carId, DateTimeOffset at);

    /// <summary>The car's pipeline pushed a tag the train gave it to build (counted only from that car).</summary>
    [Alias("ReportImage")]
    Task<TrainSeat> ReportImage(long iid, string carId, string tag, string digest, DateTimeOffset at);

    /// <summary>The car's pipeline failed to build a tag the train gave it to build.</summary>
    [Alias("ReportImageFailed")]
    Task<TrainSeat> ReportImageFailed(long iid, string carId, string tag, DateTimeOffset at);

    /// <summary>GitLab merged the merge request at <paramref name="sha"/>: its car lands.</summary>
    [Alias("ReportMerged")]
    Task ReportMerged(long iid, string sha, DateTimeOffset at);

    /// <summary>The merge request's attempt ended without a merge: it leaves, and the cars behind are rebuilt without it.</summary>
    [Alias("Leave")]
    Task Leave(long iid, string reason, DateTimeOffset at);

    /// <summary>What <paramref name="iid"/> landed is not what it tested: every car riding is taken out, once.</summary>
    [Alias("Halt")]
    Task Halt(long iid, string reason, DateTimeOffset at);

    /// <summary>
    /// What ran beside a car's pipeline that began at <paramref name="since"/> (<see cref="TrainRules.Beside"/>): the tags
    /// (<c>name:tag</c>) the train's other cars build or pushed, the pushes recorded by digest, and the cars' heads.
    /// </summary>
    [Alias("BuildsBeside")]
    Task<TrainBuildsBeside> BuildsBeside(DateTimeOffset since);

    [Alias("GetTrain")]
    Task<TrainView> GetTrain();
}

/// <summary>One car as the train shows it: its merge request, what it is tested on, its head and status.</summary>
[GenerateSerializer, Alias("TrainCarView")]
public sealed record TrainCarView(
    [property: Id(0)] string CarId,
    [property: Id(1)] long Iid,
    [property: Id(2)] IReadOnlyList<long> Ahead,
    [property: Id(3)] string? Head,
    [property: Id(4)] string Status);

/// <summary>A branch's train: its cars in order, who waits and why, which merge requests landed, and whether replay agrees.</summary>
[GenerateSerializer, Alias("TrainView")]
public sealed record TrainView(
    [property: Id(0)] string Branch,
    [property: Id(1)] IReadOnlyList<TrainCarView> Cars,
    [property: Id(2)] IReadOnlyList<long> Waiting,
    [property: Id(3)] IReadOnlyList<long> Landed,
    [property: Id(4)] bool Consistent,
    [property: Id(5)] int Plans,
    [property: Id(6)] IReadOnlyList<string> Retired);
