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

/// <summary>A tag was pushed, by the car <paramref name="CarId"/> (null: a simulated build, or a stream from before cars said so).</summary>
[GenerateSerializer, Alias("trains.ImagePushed")]
public sealed record ImagePushed([property: Id(0)] string Tag, [property: Id(1)] string Digest, [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string? CarId = null) : ITrainEvent;

/// <summary>The build of a tag failed in the car building it: once that car's verdict is in, whoever needs the tag leaves.</summary>
[GenerateSerializer, Alias("trains.ImageBuildFailed")]
public sealed record ImageBuildFailed([property: Id(0)] string Tag, [property: Id(1)] string CarId, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

/// <summary>The planner's decision after a fact, with the snapshot it was decided from: replay decides it again.</summary>
[GenerateSerializer, Alias("trains.TrainPlanned")]
public sealed record TrainPlanned([property: Id(0)] TrainSnapshot Inputs, [property: Id(1)] TrainPlan Plan, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

// What the train learns from its cars' merge requests on GitLab. Neither changes a plan's inputs (the evolver ignores
// them); they say where each car's speculative head is and which merge requests GitLab really merged.

/// <summary>A car's merge request pushed the car's speculative head (target + the cars ahead + its own commits).</summary>
[GenerateSerializer, Alias("trains.CarHeadPushed")]
public sealed record CarHeadPushed([property: Id(0)] long Iid, [property: Id(1)] string CarId, [property: Id(2)] string Sha,
    [property: Id(3)] DateTimeOffset At) : ITrainEvent;

/// <summary>GitLab merged the merge request: <paramref name="Sha"/> is the tested head that landed.</summary>
[GenerateSerializer, Alias("trains.MrMerged")]
public sealed record MrMerged([property: Id(0)] long Iid, [property: Id(1)] string Sha, [property: Id(2)] DateTimeOffset At) : ITrainEvent;

/// <summary>The names a branch's train stream stores its events under: a migration contract, as for merge requests.</summary>
public static class TrainEventNames
{
    public static readonly IReadOnlyDictionary<Type, string> All = new Dictionary<Type, string>
    {
        [typeof(TrainOpened)] = "train_opened",
        [typeof(MrsJoined)] = "train_mrs_joined",
        [typeof(MrWithdrawn)] = "train_mr_withdrawn",
        [typeof(PipelineFinished)] = "train_pipeline_finished",
        [typeof(ImagePushed)] = "train_image_pushed",
        [typeof(ImageBuildFailed)] = "train_image_build_failed",
        [typeof(TrainPlanned)] = "train_planned",
        [typeof(CarHeadPushed)] = "train_car_head_pushed",
        [typeof(MrMerged)] = "train_mr_merged",
        [typeof(TrainHalted)] = "train_halted",
    };
}
