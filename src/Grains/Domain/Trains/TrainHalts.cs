namespace Orchestrator.Domain.Trains;

/// <summary>
/// A car landed something other than what it tested (a merge-commit car whose merge commit's tree is not the tested
/// tree): the train stops. Every car riding is taken out (their merge requests fail with <paramref name="Reason"/>, and
/// must be asked for again); merge requests still waiting for a car were never tested and keep their place. Not a plan's
/// input (the evolver passes over it): the withdrawals that follow it are.
/// </summary>
[GenerateSerializer, Alias("trains.TrainHalted")]
public sealed record TrainHalted([property: Id(0)] long Iid, [property: Id(1)] string Reason, [property: Id(2)] IReadOnlyList<long> Stopped,
    [property: Id(3)] DateTimeOffset At) : ITrainEvent;
