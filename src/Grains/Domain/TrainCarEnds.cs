namespace Orchestrator.Domain;

// What a car leaves behind when its attempt ends, and how it is tidied. Never renumber an [Id] or rename an alias.

/// <summary>What was tidied after a car's attempt ended.</summary>
[GenerateSerializer, Alias("CarEnd")]
public sealed record CarEnd(
    [property: Id(0)] bool LandingChecked = false,
    [property: Id(1)] bool TrainBranchRemoved = false,
    [property: Id(2)] bool BranchRestored = false,
    [property: Id(3)] string? Note = null,
    [property: Id(4)] bool LandedUntested = false);

/// <summary>
/// What became of a branch the shell moved with a lease: <c>done</c> (moved now), <c>already</c> (it was there: a repeat
/// after a crash), <c>moved</c> (someone else's push holds it: left as it is), <c>refused</c> (GitLab refused).
/// </summary>
public sealed record RecordBranchUpdate(string Branch, string Purpose, string? To, string? From, string Outcome, string? Actual, DateTimeOffset At)
    : WorkflowCommand(At)
{
    /// <summary>A merge-commit car's train branch removed.</summary>
    public const string RemoveTrainBranch = "remove_train_branch";

    /// <summary>A fast-forward car's source branch put back to the merge request's own commits.</summary>
    public const string RestoreAuthorBranch = "restore_author_branch";
}

/// <summary>A car's branch was moved back or removed after its attempt ended (or found already so, or left to someone's newer push).</summary>
[GenerateSerializer, Alias("TrainBranchUpdated")]
public sealed record TrainBranchUpdated(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Branch,
    [property: Id(2)] string Purpose,
    [property: Id(3)] string? To,
    [property: Id(4)] string? From,
    [property: Id(5)] string Outcome,
    [property: Id(6)] string? Actual,
    [property: Id(7)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// A car that ends leaves nothing behind anyone could reuse or land by mistake:
/// <list type="bullet">
/// <item>a merge-commit car's train branch (our merge of the cars ahead with its own) is removed;</item>
/// <item>a fast-forward car that leaves without landing has a source branch holding the cars ahead, rebased, under its own
/// commits: a later manual merge would land them. It is put back to <see cref="TrainCar.AuthorHead"/>, the head the merge
/// request had before the train rewrote it. That, rather than its own commits rebased onto the target without the cars
/// ahead: it is exactly what its author pushed and its approvers saw, a rebase could conflict, and it writes no new commit
/// in anyone's name.</item>
/// </list>
/// Both are pushes with a lease on the head the train last pushed: an author's newer push is never overwritten.
/// </summary>
public static class TrainCarEnds
{
    /// <summary>What is left to tidy for an ended attempt's car, or null: the shell does it and records it with <see cref="RecordBranchUpdate"/>.</summary>
    public static string? Next(MergeRequestWorkflow state)
    {
        if (state.IsActive || state.State == WorkflowState.None || state.Car is not { } car) return null;
        var ended = car.Ended ?? new CarEnd();
        if (car.MergeCommits) return ended.TrainBranchRemoved ? null : RecordBranchUpdate.RemoveTrainBranch;
        var rewritten = car.AuthorHead is { } mine && state.RebasedSha is { } pushed && pushed != mine;
        // Merged (by us or by someone else), its branch is history: only one that left unmerged is put back.
        var left = state.State is WorkflowState.Failed or WorkflowState.Cancelled or WorkflowState.Refused;
        return left && rewritten && !ended.BranchRestored ? RecordBranchUpdate.RestoreAuthorBranch : null;
    }

    /// <summary>Whether a merge-commit car that landed must first have its merge commit's tree checked.</summary>
    public static bool LandingToCheck(MergeRequestWorkflow state) =>
        state is { State: WorkflowState.Completed, Car: { MergeCommits: true } car, MergeCommitSha: not null } && car.Ended?.LandingChecked != true;

    public static Decision Decide(RecordBranchUpdate c, MergeRequestWorkflow state) =>
        Next(state) == c.Purpose
            ? Decision.Of(new TrainBranchUpdated(state.Attempt, c.Branch, c.Purpose, c.To, c.From, c.Outcome, c.Actual, c.At))
            : Decision.Nothing;

    public static CarEnd Evolve(CarEnd? ended, TrainBranchUpdated e) => e.Purpose == RecordBranchUpdate.RemoveTrainBranch
        ? (ended ?? new()) with { TrainBranchRemoved = true }
        : (ended ?? new()) with { BranchRestored = true, Note = NoteOf(e) };

    /// <summary>What the outcome's note adds about the car's branch, if anything.</summary>
    public static string? NoteOf(TrainBranchUpdated e) => (e.Purpose, e.Outcome) switch
    {
        (RecordBranchUpdate.RestoreAuthorBranch, "done" or "already") =>
            $"Its branch `{e.Branch}` is back at {e.To}, its own commits as they were before the merge train rebased them onto the cars ahead.",
        (RecordBranchUpdate.RestoreAuthorBranch, "moved") =>
            $"Its branch `{e.Branch}` was pushed to since the merge train's push (it is at {e.Actual}), so it is left as it is; " +
            "if it still holds the cars ahead, reset it to your own commits before merging.",
        (RecordBranchUpdate.RestoreAuthorBranch, _) =>
            $"Its branch `{e.Branch}` still holds the cars ahead of it in the merge train (GitLab refused to put it back to {e.To}): " +
            "reset it to your own commits before merging.",
        _ => null,
    };
}
