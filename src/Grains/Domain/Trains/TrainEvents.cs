namespace Orchestrator.Domain.Trains;

// A branch's train stream: facts the shell observed, each followed by the plan decided after it, with the
// snapshot it was decided from. Never renumber an [Id] or rename an alias: stored streams depend on them.

public interface ITrainEvent
{
    DateTimeOffset At { get; }
}

[GenerateSerializer, Alias("trains.TrainOpened")]
public sealed record TrainOpened([property: Id(0)] string Branch, [property: Id(1)] TrainPolicy Policy, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

[GenerateSerializer, Alias("trains.MrsJoined")]
public sealed record MrsJoined([property: Id(0)] IReadOnlyList<QueuedMr> Mrs, [property: Id(1)] DateTimeOffset At) : ITrainEvent;

/// <summary>Someone took the merge request out of the queue (unassigned the bot, closed it, pushed to it).</summary>
[GenerateSerializer, Alias("trains.MrWithdrawn")]
public sealed record MrWithdrawn([property: Id(0)] long Iid, [property: Id(1)] string Reason, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

[GenerateSerializer, Alias("trains.PipelineFinished")]
public sealed record PipelineFinished([property: Id(0)] string CarId, [property: Id(1)] bool Passed, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

[GenerateSerializer, Alias("trains.ImagePushed")]
public sealed record ImagePushed([property: Id(0)] string Tag, [property: Id(1)] string Digest, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

/// <summary>The planner's decision after a fact, with the snapshot it was decided from: replay decides it again.</summary>
[GenerateSerializer, Alias("trains.TrainPlanned")]
public sealed record TrainPlanned([property: Id(0)] TrainSnapshot Inputs, [property: Id(1)] TrainPlan Plan, [property: Id(2)] DateTimeOffset At) : ITrainEvent;
