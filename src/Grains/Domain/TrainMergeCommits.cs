using Orchestrator.Domain.Trains;

namespace Orchestrator.Domain;

// Merge trains on projects that merge with merge commits (merge_method "merge") or semi-linear history ("rebase_merge").
// Never renumber an [Id] or rename an alias: stored streams depend on them.

/// <summary>
/// GitLab's merge of the merge request into the target as it is now (<c>git merge-tree --write-tree</c>), beside the tree
/// the car's pipeline tested, seen once every car ahead has landed. <paramref name="MergedTree"/> is null when it conflicts.
/// </summary>
public sealed record ObserveMergePreview(TrainSeat Seat, string TargetHead, string SourceHead, string? MergedTree, string TestedTree,
    DateTimeOffset At) : WorkflowCommand(At);

/// <summary>The tree of the merge commit GitLab made, beside the tree the car's pipeline tested.</summary>
public sealed record ObserveLandedTree(string MergeCommit, string LandedTree, string TestedTree, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// Before a merge-commit car merges: the merge GitLab would make now, and whether its tree is the tested one. Equal: the
/// car may merge; else it is rebuilt on the target as it is.
/// </summary>
[GenerateSerializer, Alias("TrainMergePreviewed")]
public sealed record TrainMergePreviewed(
    [property: Id(0)] int Attempt,
    [property: Id(1)] TrainSeat Seat,
    [property: Id(2)] string TargetHead,
    [property: Id(3)] string SourceHead,
    [property: Id(4)] string? MergedTree,
    [property: Id(5)] string TestedTree,
    [property: Id(6)] bool Equal,
    [property: Id(7)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// After a merge-commit car landed: GitLab's merge commit and its tree beside the tested tree. Not equal: what landed was
/// not what was tested, and the train stops.
/// </summary>
[GenerateSerializer, Alias("TrainCarLandingChecked")]
public sealed record TrainCarLandingChecked(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string MergeCommit,
    [property: Id(2)] string LandedTree,
    [property: Id(3)] string TestedTree,
    [property: Id(4)] bool Equal,
    [property: Id(5)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// Cars of projects where GitLab's merge is not the tested commit. A merge-commit car's head is the target plus the merge
/// commits of the cars ahead and its own, on a train branch of the target project; GitLab then merges the merge request's
/// own branch, so what lands is held to what was tested by its tree, before the merge and after it. A semi-linear project
/// needs each landing rebased onto the merge commit before it, so its train runs one car at a time.
/// </summary>
public static class MergeCommitCars
{
    public const string MergeCommit = "merge";
    public const string SemiLinear = "rebase_merge";

    /// <summary>The branch of the target project a merge request's merge-commit car is pushed to and tested on.</summary>
    /// <remarks>
    /// A branch, because GitLab runs a pipeline created through the API only on a branch, a tag or a merge request ref
    /// (Gitlab::Ci::Pipeline::Chain::Validate::Repository), and nobody but GitLab itself may write
    /// <c>refs/merge-requests/*</c> (a hidden ref to receive-pack), which is where GitLab's own merge trains test.
    /// </remarks>
    public static string TrainBranch(string targetBranch, long iid) => $"merge-train/{targetBranch}/{iid}";

    /// <summary>Whether a project's cars are built as merge commits on a train branch.</summary>
    public static bool BuildsMergeCommits(string? mergeMethod) => mergeMethod == MergeCommit;

    /// <summary>
    /// The planner's policy for a project's merge method. Semi-linear: one car at a time, since each landing is a merge
    /// commit the next car must be rebased onto (GitLab refuses it otherwise), so no car behind could land what it tested.
    /// </summary>
    public static TrainPolicy PlannerPolicy(MergeTrainPolicy policy, string? mergeMethod, bool images = false) =>
        mergeMethod == SemiLinear ? new(TrainStrategy.MergeTrain, 1, Depth: 1, BuildsOnce: images) : policy.ToPlanner(images);

    /// <summary>
    /// Right before the merge, once nothing ahead is left to land: the merge GitLab will make must have the tested tree.
    /// A different tree (someone pushed to the target, the merge resolves otherwise) rebuilds the car on the target.
    /// </summary>
    public static Decision DecidePreview(ObserveMergePreview c, MergeRequestWorkflow state)
    {
        if (state is not { State: WorkflowState.Merging, Car: { MergeCommits: true, AtHead: false } car } || !(c.Seat.Ahead.Count == 0 || c.Seat.AheadMerged)
            || c.Seat.CarId != car.CarId)
            return Decision.Nothing;
        var equal = c.MergedTree is { } merged && merged == c.TestedTree;
        var previewed = new TrainMergePreviewed(state.Attempt, c.Seat, c.TargetHead, c.SourceHead, c.MergedTree, c.TestedTree, equal, c.At);
        if (equal) return Decision.Of(previewed);
        var why = c.MergedTree is null ? "it conflicts with the target branch as it is" : $"its tree would be {c.MergedTree}, not the tested {c.TestedTree}";
        var rebuilt = TrainCarRules.Assign(state, new ObserveTrain(c.Seat, c.TargetHead, c.At, true), c.TargetHead,
            $"the target branch moved: the merge GitLab would make now is not what was tested ({why})");
        return Decision.Of([previewed, .. rebuilt.Events]);
    }

    /// <summary>After the merge: GitLab's merge commit must hold the tested tree; a difference is recorded, and stops the train.</summary>
    public static Decision DecideLanding(ObserveLandedTree c, MergeRequestWorkflow state) =>
        state is { State: WorkflowState.Completed, Car: { MergeCommits: true } car } && car.Ended?.LandingChecked != true
            ? Decision.Of(new TrainCarLandingChecked(state.Attempt, c.MergeCommit, c.LandedTree, c.TestedTree, c.LandedTree == c.TestedTree, c.At))
            : Decision.Nothing;

    /// <summary>Why the train stops after a landing whose tree was not the tested one (the note on the cars behind says it).</summary>
    public static string Divergence(long iid, string mergeCommit) =>
        $"!{iid} landed as {mergeCommit}, whose tree is not the tree its pipeline tested";

    /// <summary>What the landed merge request's own note adds when its merge commit is not what was tested.</summary>
    public static string UntestedNote(TrainCarLandingChecked c) =>
        $"GitLab's merge commit {c.MergeCommit} has the tree {c.LandedTree}, not the tree {c.TestedTree} our pipeline tested " +
        "(the target branch moved between the check and the merge): what landed was not tested as it is. The merge train stopped; " +
        "the merge requests riding it were taken out and must be asked for again.";
}
