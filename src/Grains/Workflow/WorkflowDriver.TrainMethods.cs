using Orchestrator.Adapters;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain;
using Orchestrator.Grains;

namespace Orchestrator.Workflow;

/// <summary>
/// The shell of merge trains on projects whose merge is not the tested commit (merge commits), and of a car's end: what
/// git shows (the merge GitLab would make, the tree it made, a branch moved back with a lease), handed to the decider.
/// </summary>
public sealed partial class WorkflowDriver
{
    /// <summary>Where our pipeline runs: the merge request's branch, or a merge-commit car's train branch in the target project.</summary>
    private static string PipelineRef(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr) =>
        s.Car is { MergeCommits: true } ? MergeCommitCars.TrainBranch(s.TargetBranch ?? mr.TargetBranch, key.Iid) : mr.SourceBranch;

    /// <summary>A merge-commit car's speculative head: the planned base merged with the merge request's head, as the plan recorded both.</summary>
    private static GitTrainMerge MergeCar(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, RewritePlanned plan, GitRewrite request) =>
        new(request.Target, request.Source, mr.SourceBranch, plan.ExpectedSourceSha, plan.OntoSha, PipelineRef(key, s, mr),
            $"Merge branch '{mr.SourceBranch}' into '{request.TargetBranch}'\n\nCar of the merge train of `{request.TargetBranch}`: " +
            $"see merge request {request.Target.PathWithNamespace}!{key.Iid}\n",
            new GitCommitter(plan.CommitterName, plan.CommitterEmail, plan.At));

    /// <summary>
    /// A merge-commit car whose cars ahead have all landed: the merge GitLab would make now and the tested tree, for the
    /// decider to hold to each other before the car may merge. Null for any other car.
    /// </summary>
    private async Task<StepResult?> PreviewMergeAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, TrainSeat seat,
        string targetHead, DateTimeOffset now, CancellationToken ct)
    {
        if (s is not { State: WorkflowState.Merging, Car: { MergeCommits: true, AtHead: false } car, SourceHead: { } source, RebasedSha: { } tested }
            || seat.CarId != car.CarId || !(seat.Ahead.Count == 0 || seat.AheadMerged))
            return null;
        var preview = await git.PreviewMergeAsync(await GitProjectAsync(mr.TargetProjectId, ct), targetHead, source, tested, ct);
        return StepResult.Of(new ObserveMergePreview(seat, targetHead, source, preview.MergedTree, preview.TestedTree, now));
    }

    /// <summary>
    /// What an ended car leaves: a landed merge-commit car's merge commit is held to the tested tree first, then its train
    /// branch is removed; a fast-forward car that did not land gets its own commits back. Null when nothing is left.
    /// </summary>
    private async Task<StepResult?> CarEndAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, DateTimeOffset now, CancellationToken ct)
    {
        if (s.Car is not { } car) return null;
        if (TrainCarEnds.LandingToCheck(s))
        {
            var trees = await git.TreesAsync(await GitProjectAsync(mr.TargetProjectId, ct), [s.MergeCommitSha!, s.RebasedSha!], ct);
            return StepResult.Of(new ObserveLandedTree(s.MergeCommitSha!, trees[0], trees[1], now));
        }
        var (branch, to) = TrainCarEnds.Next(s) switch
        {
            RecordBranchUpdate.RemoveTrainBranch => (MergeCommitCars.TrainBranch(s.TargetBranch ?? mr.TargetBranch, key.Iid), (string?)null),
            RecordBranchUpdate.RestoreAuthorBranch => (mr.SourceBranch, car.AuthorHead),
            _ => (null, null),
        };
        if (branch is null) return null;
        // With a lease on the head the train last pushed: anyone's push since is theirs, never overwritten.
        var project = await GitProjectAsync(mr.SourceProjectId, ct);
        var result = await git.ResetBranchAsync(project, branch, to, s.RebasedSha, ct);
        var (outcome, actual) = result switch
        {
            GitRefUpdate.Done => ("done", (string?)null),
            GitRefUpdate.AlreadyThere => ("already", null),
            GitRefUpdate.Moved m => ("moved", m.Actual),
            GitRefUpdate.Refused r => ("refused", r.Message),
            _ => throw new InvalidOperationException($"unknown branch update {result}"),
        };
        return StepResult.Of(new RecordBranchUpdate(branch, TrainCarEnds.Next(s)!, to, s.RebasedSha, outcome, actual, now));
    }

    /// <summary>
    /// Before a car's push or pipeline: each car ahead's requester (read from its merge request, never awaited the other
    /// way) and what GitLab shows of them now, for the decider to judge by the same rule as the car's own; null once allowed.
    /// </summary>
    private async Task<StepResult?> CarsAheadAsync(PermissionCheckpoint checkpoint, MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr,
        ProjectPolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        if (TrainCarsAhead.Checked(s, checkpoint)) return null;
        var ahead = new List<CarAheadRequester>();
        foreach (var iid in s.Car!.Ahead)
        {
            var other = (await grains.GetGrain<IMergeRequestGrain>(new MergeRequestKey(key.ProjectId, iid).ToString()).GetSnapshot()).Workflow;
            ahead.Add(other.State == WorkflowState.Completed
                ? new CarAheadRequester(iid, other.Requester, null, Landed: true)
                : new CarAheadRequester(iid, other.Requester, await permissions.ObserveAsync(other.Requester, key.ProjectId, s.TargetBranch ?? mr.TargetBranch, ct)));
        }
        var observed = new ObserveCarsAhead(checkpoint, ahead, policy.AllowedCommanders, now);
        return WorkflowDecider.Decide(observed, s).Events.Count > 0 ? StepResult.Of(observed)
            : StepResult.Waiting(s.Car.AheadRefused ?? "the cars ahead's requesters are being checked");
    }

    private async Task<GitProject> GitProjectAsync(long id, CancellationToken ct) =>
        new(id, (await gitlab.GetProjectAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture), ct)).PathWithNamespace);
}
