namespace Orchestrator.Domain;

/// <summary>
/// What a deadline is decided from, besides the time: the policy's limits at that moment, since when the orchestrator
/// has been watching (a restart is not the step's fault, so time the orchestrator was down does not count against it),
/// and the last thing the step was waiting on or stumbled over, for the note.
/// </summary>
[GenerateSerializer, Alias("ClockReading")]
public sealed record ClockReading(
    [property: Id(0)] int StepTimeoutMinutes,
    [property: Id(1)] int CiTimeoutMinutes,
    [property: Id(2)] DateTimeOffset? WatchingSince = null,
    [property: Id(3)] string? LastProblem = null);
