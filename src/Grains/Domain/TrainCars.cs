namespace Orchestrator.Domain;

// A merge request as a car of its target branch's merge train: what the train says of it (TrainSeat, read by the
// shell from the branch's TrainGrain), the decisions the merge request's own decider makes from it, and the events
// that record them with their inputs. Never renumber an [Id] or rename an alias: stored streams depend on them.

/// <summary>
/// What the branch's train says of one merge request right now. <paramref name="CarId"/> is null while it waits for a
/// car (<paramref name="Waiting"/> says why). <paramref name="Ahead"/> are the merge requests its car is tested on top
/// of, in order; <paramref name="AheadHead"/> the speculative head the car right ahead pushed (null until it has);
/// <paramref name="AheadMerged"/> whether every one of them has really been merged by GitLab. <paramref name="Rejected"/>
/// is the train's verdict when the merge request left it because its car failed on the branch as it is, or, with
/// <paramref name="Stopped"/>, why the whole train stopped (a car ahead landed a tree it had not tested).
/// </summary>
[GenerateSerializer, Alias("TrainSeat")]
public sealed record TrainSeat(
    [property: Id(0)] string Branch,
    [property: Id(1)] string? CarId,
    [property: Id(2)] IReadOnlyList<long> Ahead,
    [property: Id(3)] string? AheadHead,
    [property: Id(4)] bool AheadMerged,
    [property: Id(5)] string? Waiting = null,
    [property: Id(6)] string? Rejected = null,
    [property: Id(7)] string? Reason = null,
    [property: Id(8)] string? CarStatus = null,
    [property: Id(9)] string? PushedHead = null,
    [property: Id(10)] CarImages? Images = null,
    [property: Id(11)] bool Stopped = false)
{
    /// <summary>Position in the train when the car started: 1 is tested on the target itself.</summary>
    public int Position => Ahead.Count + 1;

    /// <summary>
    /// What the car is built on: the target's head when nothing is ahead of it, or when everything ahead has landed
    /// (then the target holds it all, and a push by anyone else is seen); else the speculative head of the car ahead.
    /// </summary>
    public string? OntoFor(string targetHead) => Ahead.Count == 0 || AheadMerged ? targetHead : AheadHead;
}

/// <summary>The car the current attempt rides in, as its decider last recorded it (no <c>CarId</c>: its car was stopped and it waits for another).</summary>
/// <param name="Branch">The target branch whose train it rides.</param>
/// <param name="CarId">The planner's car (null: stopped, waiting for another).</param>
/// <param name="Ahead">The merge requests it is tested on top of, in order.</param>
/// <param name="OntoSha">The speculative base it is (to be) rebased onto; null while the car ahead has not pushed its head.</param>
/// <param name="AtHead">Every car ahead has landed and the target is exactly the base it was tested on: it may merge.</param>
/// <param name="NoteId">The note announcing this car (null until posted).</param>
/// <param name="Reason">Why it got this car (for the note).</param>
/// <param name="Rebuilds">How often this attempt's car was built again on another base after it had one (for the outcome note).</param>
/// <param name="LastRebuild">Why it was last built again.</param>
/// <param name="MergeCommits">A merge-commit project's car: its head is the target plus merge commits, on a train branch (<see cref="MergeCommitCars"/>).</param>
/// <param name="AuthorHead">The merge request's own head before the train touched it: what a merge-commit car merges, and what a
/// fast-forward car's branch is put back to if it leaves without landing (<see cref="TrainCarEnds"/>).</param>
/// <param name="Ended">What was tidied after the attempt ended (<see cref="TrainCarEnds"/>).</param>
/// <param name="AheadChecked">The checkpoint of this rebase for which every car ahead's requester was last found allowed (<see cref="TrainCarsAhead"/>).</param>
/// <param name="AheadRefused">Why the car waits: a car ahead's requester may no longer merge.</param>
[GenerateSerializer, Alias("TrainCar")]
public sealed record TrainCar(
    [property: Id(0)] string Branch,
    [property: Id(1)] string? CarId,
    [property: Id(2)] IReadOnlyList<long> Ahead,
    [property: Id(3)] string? OntoSha,
    [property: Id(4)] bool AtHead = false,
    [property: Id(5)] long? NoteId = null,
    [property: Id(6)] string? Reason = null,
    [property: Id(7)] int Rebuilds = 0,
    [property: Id(8)] string? LastRebuild = null,
    [property: Id(9)] bool MergeCommits = false,
    [property: Id(10)] string? AuthorHead = null,
    [property: Id(11)] CarEnd? Ended = null,
    [property: Id(12)] PermissionMark? AheadChecked = null,
    [property: Id(13)] string? AheadRefused = null)
{
    public int Position => Ahead.Count + 1;

    /// <summary>
    /// The car after <paramref name="assigned"/>: the same car on a new base keeps its note and the reason it was given,
    /// a new car starts afresh; either counts as a rebuild once the car had a base.
    /// </summary>
    public static TrainCar After(TrainCar? previous, TrainCarAssigned assigned)
    {
        var seat = assigned.Seat;
        var rebuilt = previous is { OntoSha: not null };
        var (rebuilds, why) = rebuilt ? (previous!.Rebuilds + 1, assigned.Reason) : (previous?.Rebuilds ?? 0, previous?.LastRebuild);
        // How it is built (merge commits or not) and the merge request's own head stay with the attempt, whatever its car.
        return seat.CarId is { } car
            ? previous is { } same && same.CarId == car
                ? same with { Ahead = seat.Ahead, OntoSha = assigned.OntoSha, AtHead = false, Rebuilds = rebuilds, LastRebuild = why, AheadRefused = null }
                : new TrainCar(seat.Branch, car, seat.Ahead, assigned.OntoSha, false, null, assigned.Reason, rebuilds, why, assigned.MergeCommits,
                    previous?.AuthorHead)
            : new TrainCar(seat.Branch, null, [], null, Reason: assigned.Reason, Rebuilds: rebuilds, LastRebuild: why, MergeCommits: assigned.MergeCommits,
                AuthorHead: previous?.AuthorHead);
    }

    /// <summary>What the outcome note says of the ride: which car, on top of what, and why it was rebuilt.</summary>
    public string Ride()
    {
        var ahead = Ahead.Count == 0 ? "on the target branch itself" : "on top of " + string.Join(", ", Ahead.Select(i => $"!{i}"));
        var text = $"It rode car {Position} of the merge train of `{Branch}`, tested {ahead}.";
        if (Rebuilds > 0)
            text += $" Its car was rebuilt {(Rebuilds == 1 ? "once" : $"{Rebuilds} times")}, last because {Rebuilt(LastRebuild) ?? LastRebuild}.";
        return text;
    }

    /// <summary>Why the train was rebuilt, when <paramref name="reason"/> says it was (the reasons <see cref="TrainCarRules"/> gives).</summary>
    public static string? Rebuilt(string? reason) =>
        reason is { } why && why.StartsWith(RebuiltPrefix, StringComparison.Ordinal) ? why[RebuiltPrefix.Length..] : null;

    public const string RebuiltPrefix = "the train was rebuilt: ";
}

/// <summary>What the train says of this merge request, and the target's head GitLab shows, for the decider to act on.</summary>
/// <remarks><c>MergeCommits</c>: the project makes merge commits, so a new car is built on a train branch (<see cref="MergeCommitCars"/>).</remarks>
public sealed record ObserveTrain(TrainSeat Seat, string TargetHead, DateTimeOffset At, bool MergeCommits = false) : WorkflowCommand(At);

/// <summary>The note announcing the car is on the merge request (found again by its marker after a crash).</summary>
public sealed record RecordCarNote(string CarId, long NoteId, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// The train gave the attempt a car, or a new one (rebuilt: a car ahead left or was rebuilt, or the target moved): the
/// branch is rebased onto <paramref name="OntoSha"/> next; <paramref name="SupersededPipeline"/> is the pipeline the
/// old car ran, stopped (it tests a head that will never land).
/// </summary>
[GenerateSerializer, Alias("TrainCarAssigned")]
public sealed record TrainCarAssigned(
    [property: Id(0)] int Attempt,
    [property: Id(1)] TrainSeat Seat,
    [property: Id(2)] string TargetHead,
    [property: Id(3)] string? OntoSha,
    [property: Id(4)] string Reason,
    [property: Id(5)] long? SupersededPipeline,
    [property: Id(6)] DateTimeOffset At,
    [property: Id(7)] bool MergeCommits = false) : IWorkflowEvent;

/// <summary>The note announcing the car was posted.</summary>
[GenerateSerializer, Alias("TrainCarAnnounced")]
public sealed record TrainCarAnnounced(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string CarId,
    [property: Id(2)] long NoteId,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>Every car ahead has landed and the target is the base this car was tested on: its tested head is a fast-forward.</summary>
[GenerateSerializer, Alias("TrainCarAtHead")]
public sealed record TrainCarAtHead(
    [property: Id(0)] int Attempt,
    [property: Id(1)] TrainSeat Seat,
    [property: Id(2)] string TargetHead,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>The train took the merge request out: its car failed on the branch as it really is.</summary>
[GenerateSerializer, Alias("TrainCarRejected")]
public sealed record TrainCarRejected(
    [property: Id(0)] int Attempt,
    [property: Id(1)] TrainSeat Seat,
    [property: Id(2)] string TargetHead,
    [property: Id(3)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// The merge request's own rules as a car: when it takes a (new) car, when it may merge, when the train's verdict ends
/// the attempt. Pure; the shell only reads the seat and the target's head.
/// </summary>
public static class TrainCarRules
{
    /// <summary>
    /// Which merge requests ride a train: same-project ones of fast-forward projects (the tested head is what lands),
    /// merge-commit projects (a train branch, the tree checked before and after the merge: <see cref="MergeCommitCars"/>)
    /// and semi-linear ones (one car at a time). A fork's branch stays out: a car's branch holds the unmerged commits of
    /// the cars ahead, which must not land in a namespace its owner controls.
    /// </summary>
    public static bool Rides(string? mergeMethod, bool isFork) => mergeMethod is "ff" or "merge" or "rebase_merge" && !isFork;

    public static Decision Decide(ObserveTrain c, MergeRequestWorkflow state)
    {
        var seat = c.Seat;
        if (!state.IsActive) return Decision.Nothing;
        if (seat.Rejected is { } verdict)
        {
            // Only a car this attempt rides in can be judged; a merge request still waiting for one was never tested,
            // unless an image it needs failed to build (TrainCarImages).
            if (state.Car is null && seat.Images?.FailedBuild is null) return Decision.Nothing;
            return Decision.Of(new TrainCarRejected(state.Attempt, seat, c.TargetHead, c.At),
                new AttemptFailed(state.Attempt, state.State, seat.Stopped && state.Car is { } stopped
                    ? $"The merge train of `{seat.Branch}` stopped (this was car {stopped.Position}): {verdict}. Ask again once that is understood."
                    : state.Car is { } riding
                    ? $"CI failed! (car {riding.Position} of the merge train of `{seat.Branch}`: {verdict})"
                    : $"CI failed! (the merge train of `{seat.Branch}`: {verdict})", c.At));
        }
        // Its car was stopped and no other started yet (the budget, a failure ahead): its pipeline is stopped, it waits.
        if (seat.CarId is null)
            return state.Car is { CarId: not null } && state.State != WorkflowState.Queued
                ? Assign(state, c, null, $"{TrainCar.RebuiltPrefix}{seat.Reason ?? seat.Waiting ?? "its car was stopped"}; it waits: {seat.Waiting}")
                : Decision.Nothing;
        var carId = seat.CarId;
        var onto = seat.OntoFor(c.TargetHead);
        if (state.Car is not { } car)
        {
            // A car whose base is not pushed yet waits in the queue (never timed), not in a rebase.
            if (state.State != WorkflowState.Queued || onto is null) return Decision.Nothing;
            return Assign(state, c, onto, seat.Reason ?? $"car {seat.Position} of the merge train of `{seat.Branch}`");
        }
        if (car.CarId != carId)
            return Assign(state, c, onto, $"{TrainCar.RebuiltPrefix}{seat.Reason ?? "a car ahead changed"}");
        // Once nothing ahead is left to land, a merge-commit car is held to the target by its tree, not its SHA.
        if (car.MergeCommits && (seat.Ahead.Count == 0 || seat.AheadMerged)) return Decision.Nothing;
        if (onto is not null && onto != car.OntoSha)
            return Assign(state, c, onto, car.OntoSha is null ? "the car ahead pushed its head"
                : seat.Ahead.Count == 0 || seat.AheadMerged ? "the target branch moved" : "the car ahead was rebuilt");
        if (state.State == WorkflowState.Merging && !car.AtHead && (seat.Ahead.Count == 0 || seat.AheadMerged) && c.TargetHead == car.OntoSha)
            return Decision.Of(new TrainCarAtHead(state.Attempt, seat, c.TargetHead, c.At));
        return Decision.Nothing;
    }

    /// <summary>A new base: rebased again (its pipeline, testing a head that will never land, is stopped).</summary>
    internal static Decision Assign(MergeRequestWorkflow state, ObserveTrain c, string? onto, string reason) => Decision.Of(
        new TrainCarAssigned(state.Attempt, c.Seat, c.TargetHead, onto, reason, state.PipelineId, c.At, state.Car?.MergeCommits ?? c.MergeCommits),
        new RebaseStarted(state.Attempt, state.Rebases + 1, $"car {c.Seat.Position} of the merge train of `{c.Seat.Branch}`: {reason}", c.At));

    public static Decision DecideNote(RecordCarNote c, MergeRequestWorkflow state) =>
        state.Car is { } car && car.CarId == c.CarId && car.NoteId is null
            ? Decision.Of(new TrainCarAnnounced(state.Attempt, c.CarId, c.NoteId, c.At))
            : Decision.Nothing;

    /// <summary>
    /// Waits that are the train's, never the step's: for the car ahead to push the base, for the train's verdict on a
    /// failed pipeline, for the cars ahead to land.
    /// </summary>
    public static bool WaitingBehind(MergeRequestWorkflow state) => state.Car is { } car
        && (car.OntoSha is null || car.AheadRefused is not null
            || (state.State == WorkflowState.Building && state.PipelineStatus is { } status
                && PipelineStatus.Classify(status) is PipelineOutcome.Failed)
            || (state.State == WorkflowState.Merging && !car.AtHead));

    /// <summary>The note announcing a car: where it rides, and why the page's diff shows more than the merge request's own changes.</summary>
    public static string Announcement(TrainCar car, string? reason)
    {
        var ahead = car.Ahead.Count == 0 ? "on the target branch itself"
            : "on top of " + string.Join(", ", car.Ahead.Select(i => $"!{i}"));
        var text = $"This merge request is car {car.Position} of the merge train of `{car.Branch}`, tested {ahead}.";
        if (TrainCar.Rebuilt(reason) is { } why)
            text = $"The merge train of `{car.Branch}` was rebuilt ({why}). " + text;
        if (car.MergeCommits)
            text += " Its branch is left as it is: the train tests it merged on top of the cars ahead, on a branch of the train's own, " +
                "and it lands as GitLab's merge commit once every car ahead has landed and that merge's tree is the one tested.";
        else if (car.Ahead.Count > 0)
            text += " Its branch now holds the cars ahead, rebased in order, with its own commits on top: until they land, " +
                "this page's diff also shows their changes. Only its own commits land with it, once every car ahead has landed.";
        return text;
    }
}
