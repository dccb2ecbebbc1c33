namespace Orchestrator.Domain.Trains;

// What the planner knows about a branch's queue. Each record is a fact the shell observed or a car the planner
// started; all of them travel inside recorded events, so never renumber an [Id] or rename an alias.

/// <summary>A merge request waiting on the branch, with what the planner needs to weigh it.</summary>
// PredictedSuccess: The chance its pipeline passes, from SuccessPredictor (0..1).
// Bumps: Image tags its changes introduce: a pipeline testing it builds them unless they were pushed.
// Needs: Image tags its own changes rely on (bumped by a merge request ahead of it).
[GenerateSerializer, Alias("trains.QueuedMr")]
public sealed record QueuedMr(
    [property: Id(0)] long Iid,
    [property: Id(1)] double PredictedSuccess,
    [property: Id(2)] IReadOnlyList<string> Bumps,
    [property: Id(3)] IReadOnlyList<string> Needs)
{
    public static QueuedMr Plain(long iid, double predictedSuccess = 0.9) => new(iid, predictedSuccess, [], []);
}

/// <summary>An image tag in the registry and the digest a car tests on.</summary>
[GenerateSerializer, Alias("trains.ImageDigest")]
public sealed record ImageDigest([property: Id(0)] string Tag, [property: Id(1)] string Digest);

/// <summary>A car's speculative head as its merge request reported it pushed (<see cref="CarHeadPushed"/>).</summary>
[GenerateSerializer, Alias("trains.CarHead")]
public sealed record CarHead([property: Id(0)] long Iid, [property: Id(1)] string CarId, [property: Id(2)] string Sha);

/// <summary>A push the train recorded (<see cref="ImagePushed"/>), with the car that reported it.</summary>
[GenerateSerializer, Alias("trains.CarPush")]
public sealed record CarPush([property: Id(0)] string Tag, [property: Id(1)] string Digest, [property: Id(2)] string CarId);

/// <summary>
/// What the train says ran beside a car's pipeline (<see cref="TrainRules.Beside"/>): the tags (<c>name:tag</c>) its other
/// cars build or pushed, the pushes it recorded of them by digest, and the heads of the cars whose pipelines ran meanwhile.
/// </summary>
[GenerateSerializer, Alias("trains.TrainBuildsBeside")]
public sealed record TrainBuildsBeside(
    [property: Id(0)] IReadOnlyList<string> Tags,
    [property: Id(1)] IReadOnlyList<CarPush> Pushes,
    [property: Id(2)] IReadOnlyList<CarHead> Heads);

/// <summary>A build of a bumped tag that has started and not pushed yet.</summary>
[GenerateSerializer, Alias("trains.ImageBuild")]
public sealed record ImageBuild([property: Id(0)] string Tag, [property: Id(1)] string CarId);

/// <summary>The car that pushed a tag and has not landed yet: the push is void if the car stops without landing.</summary>
[GenerateSerializer, Alias("trains.TagOwner")]
public sealed record TagOwner([property: Id(0)] string Tag, [property: Id(1)] string CarId);

/// <summary>How a merge request a car still refers to left the queue.</summary>
[GenerateSerializer, Alias("trains.Resolution")]
public sealed record Resolution([property: Id(0)] long Iid, [property: Id(1)] bool Landed);

/// <summary>After a batch failed, its merge requests are tested in groups of at most MaxGroup (bisection).</summary>
[GenerateSerializer, Alias("trains.BatchCap")]
public sealed record BatchCap([property: Id(0)] long Iid, [property: Id(1)] int MaxGroup);

[GenerateSerializer, Alias("trains.CarStatus")]
public enum CarStatus { Running, Passed, Failed }

/// <summary>
/// One pipeline testing Mrs on the branch as it would be if every merge request in Base
/// landed and every one in Excluded did not: together they are every merge request ahead of it that
/// was still waiting when it started, so the car is worth something only while reality agrees with them.
/// </summary>
// Builds: Tags its pipeline builds (not pushed when it started).
// TestsOn: Pushed tags it reuses, with the digest it tests on.
// KeepsBuilds: Whether a build it started outlives it when it is cancelled (the image-aware planner's builds do).
// ImageOnly: Only the container jobs of Mrs' pipeline, to push the tags they bump before any car needs them (image-aware):
//   it tests nothing, so its result is no verdict on anyone.
[GenerateSerializer, Alias("trains.Car")]
public sealed record Car(
    [property: Id(0)] string Id,
    [property: Id(1)] IReadOnlyList<long> Mrs,
    [property: Id(2)] IReadOnlyList<long> Base,
    [property: Id(3)] IReadOnlyList<long> Excluded,
    [property: Id(4)] IReadOnlyList<string> Builds,
    [property: Id(5)] IReadOnlyList<ImageDigest> TestsOn,
    [property: Id(6)] CarStatus Status,
    [property: Id(7)] DateTimeOffset StartedAt,
    [property: Id(8)] bool KeepsBuilds = false,
    [property: Id(9)] bool ImageOnly = false)
{
    /// <summary>Every merge request whose changes the pipeline runs: the assumed-landed ones ahead and its own.</summary>
    public IEnumerable<long> Contents => Base.Concat(Mrs);
}
