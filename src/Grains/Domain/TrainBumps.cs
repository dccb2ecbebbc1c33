namespace Orchestrator.Domain;

// Which tags a merge request bumps decides who builds an image on an image-aware train: read once in the shell, it is
// recorded in the merge request's stream, so the bumps it joins the train with are the decider's and replay derives them
// again. Never renumber an [Id] or rename an alias: stored streams depend on them.

/// <summary>One policy image's tag as its tag file names it at the merge request's head and at the target's (null: none named).</summary>
[GenerateSerializer, Alias("TagFileRead")]
public sealed record TagFileRead(
    [property: Id(0)] string Name,
    [property: Id(1)] string? HeadTag,
    [property: Id(2)] string? TargetTag);

/// <summary>The tag files read at <paramref name="HeadSha"/> (the merge request's head) and <paramref name="TargetSha"/> (the target's), for the train.</summary>
public sealed record ObserveTagFiles(string HeadSha, string TargetSha, IReadOnlyList<TagFileRead> Reads, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// What the merge request's tag files said when it joined the train, and the tags (<c>name:tag</c>) it bumps by them
/// (<see cref="TrainCarImages.Bumps(IEnumerable{TagFileRead})"/>): the train is told exactly these.
/// </summary>
[GenerateSerializer, Alias("TrainBumpsObserved")]
public sealed record TrainBumpsObserved(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string HeadSha,
    [property: Id(2)] string TargetSha,
    [property: Id(3)] IReadOnlyList<TagFileRead> Reads,
    [property: Id(4)] IReadOnlyList<string> Bumps,
    [property: Id(5)] DateTimeOffset At) : IWorkflowEvent;

public static class TrainBumps
{
    /// <summary>Once per attempt and head: a repeat (after a crash, or a poll) decides nothing; a new head is read again.</summary>
    public static Decision Decide(ObserveTagFiles c, MergeRequestWorkflow state) => Recorded(state, c.HeadSha) is not null ? Decision.Nothing
        : Decision.Of(new TrainBumpsObserved(state.Attempt, c.HeadSha, c.TargetSha, c.Reads, TrainCarImages.Bumps(c.Reads), c.At));

    /// <summary>The bumps this attempt recorded for <paramref name="head"/>, or null when its tag files were not read at that head.</summary>
    public static IReadOnlyList<string>? Recorded(MergeRequestWorkflow state, string? head) =>
        state.TrainBumps is { } seen && seen.Attempt == state.Attempt && seen.HeadSha == head ? seen.Bumps : null;
}
