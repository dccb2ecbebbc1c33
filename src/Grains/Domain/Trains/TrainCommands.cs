namespace Orchestrator.Domain.Trains;

/// <summary>What the shell tells a branch's train; each is a fact observed at <see cref="At"/>.</summary>
public abstract record TrainCommand(DateTimeOffset At);

public sealed record OpenTrain(string Branch, TrainPolicy Policy, DateTimeOffset At) : TrainCommand(At);

/// <summary>Merge requests found waiting on the branch, in queue order; one poll can find several at once.</summary>
public sealed record JoinTrain(IReadOnlyList<QueuedMr> Mrs, DateTimeOffset At) : TrainCommand(At);

public sealed record WithdrawMr(long Iid, string Reason, DateTimeOffset At) : TrainCommand(At);

public sealed record FinishPipeline(string CarId, bool Passed, DateTimeOffset At) : TrainCommand(At);

/// <summary>A tag was pushed; on GitLab only the car building it (<paramref name="CarId"/>) says so, and only then does it count.</summary>
public sealed record PushImage(string Tag, string Digest, DateTimeOffset At, string? CarId = null) : TrainCommand(At);

/// <summary>The car building a tag saw its build job fail: no car will test on that tag from this build.</summary>
public sealed record FailImage(string Tag, string CarId, DateTimeOffset At) : TrainCommand(At);
