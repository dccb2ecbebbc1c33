namespace Orchestrator.Domain.Trains;

/// <summary>
/// Everything a plan is decided from, recorded with it: the waiting merge requests in order, the cars, the images
/// pushed and being built, and the strategy's own memory (the adaptive window, the bisection caps). Time comes in
/// here; the planner reads no clock.
/// </summary>
// Resolved: How each merge request a car still assumes something about, and which left the queue, left it.
// NextCar: The number the next started car is named after, so car ids are decided too.
// FailedBuilds: Tags whose build failed in a car still in the train (null: none).
// PushedFor: Of the pushed tags, which car still in the train pushed each (null: none).
[GenerateSerializer, Alias("trains.TrainSnapshot")]
public sealed record TrainSnapshot(
    [property: Id(0)] string Branch,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] TrainPolicy Policy,
    [property: Id(3)] IReadOnlyList<QueuedMr> Queue,
    [property: Id(4)] IReadOnlyList<Car> Cars,
    [property: Id(5)] IReadOnlyList<Resolution> Resolved,
    [property: Id(6)] IReadOnlyList<ImageDigest> Pushed,
    [property: Id(7)] IReadOnlyList<ImageBuild> Building,
    [property: Id(8)] int Window,
    [property: Id(9)] IReadOnlyList<BatchCap> Caps,
    [property: Id(10)] int NextCar,
    [property: Id(11)] IReadOnlyList<ImageBuild>? FailedBuilds = null,
    [property: Id(12)] IReadOnlyList<TagOwner>? PushedFor = null);
