namespace Orchestrator.Domain.Trains;

/// <summary>What the shell tells a branch's train; each is a fact observed at <see cref="At"/>.</summary>
public abstract record TrainCommand(DateTimeOffset At);

public sealed record OpenTrain(string Branch, TrainPolicy Policy, DateTimeOffset At) : TrainCommand(At);

/// <summary>Merge requests found waiting on the branch, in queue order; one poll can find several at once.</summary>
public sealed record JoinTrain(IReadOnlyList<QueuedMr> Mrs, DateTimeOffset At) : TrainCommand(At);

public sealed record WithdrawMr(long Iid, string Reason, DateTimeOffset At) : TrainCommand(At);

public sealed record FinishPipeline(string CarId, bool Passed, DateTimeOffset At) : TrainCommand(At);

public sealed record PushImage(string Tag, string Digest, DateTimeOffset At) : TrainCommand(At);
