namespace Orchestrator.Domain;

// Whether the cars ahead may still be run and pushed with the bot's rights. Never renumber an [Id] or rename an alias.

/// <summary>One car ahead, as GitLab shows the person who asked for it: who, and what GitLab says of their rights.</summary>
[GenerateSerializer, Alias("CarAheadRequester")]
public sealed record CarAheadRequester(
    [property: Id(0)] long Iid,
    [property: Id(1)] Requester? Requester,
    [property: Id(2)] PermissionObservation? Observation,
    [property: Id(3)] bool Landed = false);

/// <summary>The merge request ahead, and the rule's verdict on its requester.</summary>
[GenerateSerializer, Alias("CarAheadVerdict")]
public sealed record CarAheadVerdict([property: Id(0)] long Iid, [property: Id(1)] bool Allowed, [property: Id(2)] string Reason);

/// <summary>Before a car's push or pipeline: every car ahead's requester, as GitLab shows them now.</summary>
public sealed record ObserveCarsAhead(PermissionCheckpoint Checkpoint, IReadOnlyList<CarAheadRequester> Ahead, IReadOnlyList<string> AllowedCommanders,
    DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// Whether every car ahead's requester may still merge, before this car pushes their code or runs it: the observations,
/// the verdicts, and (when one may not) why the car waits.
/// </summary>
[GenerateSerializer, Alias("TrainCarsAheadChecked")]
public sealed record TrainCarsAheadChecked(
    [property: Id(0)] int Attempt,
    [property: Id(1)] PermissionCheckpoint Checkpoint,
    [property: Id(2)] int Rebase,
    [property: Id(3)] IReadOnlyList<CarAheadRequester> Ahead,
    [property: Id(4)] IReadOnlyList<string> AllowedCommanders,
    [property: Id(5)] IReadOnlyList<CarAheadVerdict> Verdicts,
    [property: Id(6)] string? Refused,
    [property: Id(7)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// A car's push (its branch then holds the cars ahead) and its pipeline (which runs their code in the target project)
/// are done with the bot's rights for everyone whose commits they carry, not only for the car's own requester. So before
/// each, every car ahead's requester must still be allowed to merge, by the same rule as the car's own checkpoint
/// (<see cref="WorkflowRules.MayMerge"/>). When one may not, the car neither pushes nor runs: it waits (untimed, it is
/// the car ahead's to resolve: its own next checkpoint takes it out, and the train rebuilds this car without it).
/// </summary>
public static class TrainCarsAhead
{
    /// <summary>Whether the car has its cars ahead checked for this checkpoint of this rebase (none ahead: nothing to check).</summary>
    public static bool Checked(MergeRequestWorkflow state, PermissionCheckpoint checkpoint) =>
        state.Car is not { Ahead.Count: > 0 } car || car.AheadChecked == new PermissionMark(checkpoint, state.Rebases);

    public static Decision Decide(ObserveCarsAhead c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        var due = (c.Checkpoint, state.State) is (PermissionCheckpoint.Rebase, WorkflowState.Rebasing) or (PermissionCheckpoint.Pipeline, WorkflowState.Building);
        if (!due || Checked(state, c.Checkpoint) || state.Car is not { } car) return Decision.Nothing;
        // One that has landed is the target's code now: whoever asked for it, it is not run or pushed in their name.
        var verdicts = c.Ahead.Select(a => (a, v: a.Landed ? new PermissionVerdict(true, "it has landed")
                : rules.MayMerge(a.Requester, a.Observation, c.AllowedCommanders, c.At)))
            .Select(p => new CarAheadVerdict(p.a.Iid, p.v.Allowed, p.v.Reason)).ToList();
        // The cars ahead the train names, every one of them, each allowed: anything less is no permission (fail closed).
        var missing = car.Ahead.Where(i => !c.Ahead.Any(a => a.Iid == i)).ToList();
        var refused = missing.Count > 0 ? $"the requesters of {string.Join(", ", missing.Select(i => $"!{i}"))} were not looked at"
            : verdicts.FirstOrDefault(v => !v.Allowed) is { } no
                ? $"{c.Ahead.First(a => a.Iid == no.Iid).Requester?.Display ?? "the person who asked"} may no longer merge !{no.Iid}, a car ahead: {no.Reason}"
                : null;
        // Still refused for the same reason: nothing new to record.
        if (refused is not null && refused == car.AheadRefused) return Decision.Nothing;
        return Decision.Of(new TrainCarsAheadChecked(state.Attempt, c.Checkpoint, state.Rebases, c.Ahead, c.AllowedCommanders, verdicts, refused, c.At));
    }

    public static TrainCar Evolve(TrainCar car, TrainCarsAheadChecked e) => e.Refused is null
        ? car with { AheadChecked = new PermissionMark(e.Checkpoint, e.Rebase), AheadRefused = null }
        : car with { AheadRefused = e.Refused };
}
