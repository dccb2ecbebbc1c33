using Orchestrator.Domain;
using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// Cars whose landing is GitLab's merge rather than the tested commit (merge-commit and semi-linear projects), and what a
/// car leaves when it ends: the rules in the merge request's own decider, and their replay.
/// </summary>
public sealed class TrainMergeMethodDeciderTests
{
    private const string Main = "main";
    private const string Target = "1111111111111111111111111111111111111111";
    private const string Own = "5555555555555555555555555555555555555555";
    private const string TrainHead = "3333333333333333333333333333333333333333";
    private const string Landed = "6666666666666666666666666666666666666666";
    private const string Pushed = "7777777777777777777777777777777777777777";
    private const string TestedTree = "8888888888888888888888888888888888888888";
    private const string OtherTree = "9999999999999999999999999999999999999999";

    private static TrainSeat Seat(long[] ahead, bool merged = false) => new(Main, "car-2", ahead, ahead.Length > 0 ? TrainHead : null, merged);

    /// <summary>A merge-commit car behind !1, its train branch tested and verified: it waits at merging for !1 to land.</summary>
    private static IWorkflowEvent[] MergeCarWaiting(long[]? ahead = null) =>
    [
        .. Queued,
        new TrainCarAssigned(1, Seat(ahead ?? [1]), Target, Target, "car 2", null, At(1), MergeCommits: true),
        new RebaseStarted(1, 1, "car 2", At(1)),
        new TrainCarAnnounced(1, "car-2", 77, At(2)),
        new RewritePlanned(1, 1, Own, Target, [], "bot", "bot@x", At(3)),
        new Rebased(1, TrainHead, Target, At(4)),
        new FreshnessChecked(1, TrainHead, [], false, At(5)),
        new PipelineCreated(1, Pipeline, TrainHead, false, At(6)),
        new PipelineObserved(1, Pipeline, "success", At(20)),
        new BuildVerified(1, Target, [], At(21)),
    ];

    [Fact]
    public void Given_a_car_whose_first_plan_was_never_pushed_When_it_is_rebuilt_after_the_author_pushed_Then_its_branch_would_go_back_to_the_newer_head()
    {
        const string Newer = "7777777777777777777777777777777777777777";
        IWorkflowEvent[] firstPlan =
        [
            .. Queued,
            new TrainCarAssigned(1, Seat([1]), Target, Target, "car 2", null, At(1)),
            new RebaseStarted(1, 1, "car 2", At(1)),
            new RewritePlanned(1, 1, Own, Target, [], "bot", "bot@x", At(3)),
        ];
        IWorkflowEvent[] rebuilt = [new TrainCarAssigned(1, Seat([]) with { CarId = "car-5" }, Target, Target, "the train was rebuilt: x", null, At(4)),
            new RebaseStarted(1, 2, "rebuilt", At(4)), new RewritePlanned(1, 2, Newer, Target, [], "bot", "bot@x", At(5))];

        Assert.Equal(Newer, Fold([.. firstPlan, .. rebuilt]).Car!.AuthorHead);
        // Once the train pushed, the head it found first is the author's, whatever the train's later plans expect.
        Assert.Equal(Own, Fold([.. firstPlan, new Rebased(1, TrainHead, Target, At(3)), .. rebuilt]).Car!.AuthorHead);
    }

    [Fact]
    public void Given_a_merge_commit_car_When_its_plan_is_recorded_Then_the_merge_requests_own_head_is_what_it_merges_and_its_pipeline_runs_the_train_head()
    {
        var s = Fold(MergeCarWaiting());

        Assert.Equal((WorkflowState.Merging, true, Own, Own, TrainHead), (s.State, s.Car!.MergeCommits, s.Car.AuthorHead, s.SourceHead, s.RebasedSha));
        Assert.True(TrainCarRules.WaitingBehind(s));
    }

    [Fact]
    public void Given_a_merge_commit_car_When_the_cars_ahead_landed_and_the_target_is_gitlabs_merge_commit_Then_it_is_not_rebuilt_but_waits_for_the_tree_check()
    {
        // A fast-forward car would be rebuilt here (the target is not its base); a merge-commit car's target never is.
        DeciderSpec.Given(MergeCarWaiting()).When(new ObserveTrain(Seat([1], merged: true), Landed, At(30), true)).ThenNothing();
    }

    [Fact]
    public void Given_a_merge_commit_car_at_the_head_When_gitlabs_merge_would_have_the_tested_tree_Then_it_may_merge_and_its_step_clock_starts()
    {
        var preview = new ObserveMergePreview(Seat([1], merged: true), Landed, Own, TestedTree, TestedTree, At(30));

        var s = DeciderSpec.Given(MergeCarWaiting()).When(preview)
            .Then(new TrainMergePreviewed(1, preview.Seat, Landed, Own, TestedTree, TestedTree, true, At(30)));

        Assert.True(s.Car!.AtHead);
        Assert.Equal(At(30), s.StepStartedAt);
        Assert.False(TrainCarRules.WaitingBehind(s));
    }

    [Theory]
    [InlineData(OtherTree, "its tree would be")]
    [InlineData(null, "it conflicts")]
    public void Given_a_merge_commit_car_at_the_head_When_gitlabs_merge_would_differ_from_what_was_tested_Then_it_is_rebuilt_on_the_target(
        string? mergedTree, string why)
    {
        var preview = new ObserveMergePreview(Seat([1], merged: true), Landed, Own, mergedTree, TestedTree, At(30));

        var events = DeciderSpec.Given(MergeCarWaiting()).When(preview).ThenEvents();

        Assert.False(Assert.IsType<TrainMergePreviewed>(events[0]).Equal);
        var assigned = Assert.IsType<TrainCarAssigned>(events[1]);
        Assert.Equal((Landed, (long?)Pipeline, true), (assigned.OntoSha, assigned.SupersededPipeline, assigned.MergeCommits));
        Assert.Contains(why, assigned.Reason);
        var s = events.Aggregate(Fold(MergeCarWaiting()), WorkflowEvolver.Evolve);
        Assert.Equal((WorkflowState.Rebasing, false, Own), (s.State, s.Car!.AtHead, s.Car.AuthorHead));
    }

    [Fact]
    public void Given_a_merge_commit_car_When_cars_ahead_have_not_landed_Then_a_preview_decides_nothing() =>
        DeciderSpec.Given(MergeCarWaiting()).When(new ObserveMergePreview(Seat([1]), Landed, Own, TestedTree, TestedTree, At(30))).ThenNothing();

    [Fact]
    public void Given_a_rebuilt_merge_commit_car_When_the_merge_requests_branch_moved_Then_someone_pushed_and_approvals_reset_on_push_stop_nothing()
    {
        var rebuilt = Fold([.. MergeCarWaiting(), new TrainCarAssigned(1, Seat([]), Landed, Landed, "rebuilt", null, At(30), true),
            new RebaseStarted(1, 2, "rebuilt", At(30))]);

        // Its own branch is never pushed to, so GitLab's removal of approvals on push costs nothing.
        var same = WorkflowDecider.Decide(new PlanRewrite(Own, Landed, [], "bot", "bot@x", At(31), ResetsApprovalsOnPush: true, ApprovalsGiven: 2), rebuilt);
        Assert.IsType<RewritePlanned>(Assert.Single(same.Events));
        var moved = WorkflowDecider.Decide(new PlanRewrite(Pushed, Landed, [], "bot", "bot@x", At(31)), rebuilt).Events;
        Assert.StartsWith(WorkflowDecider.SomeonePushed, Assert.IsType<AttemptFailed>(moved[^1]).Reason);
    }

    [Fact]
    public void Given_a_merge_commit_car_merging_When_gitlab_shows_it_merged_at_the_merge_requests_own_head_Then_it_is_our_merge()
    {
        var atHead = Fold([.. MergeCarWaiting(), new TrainMergePreviewed(1, Seat([1], true), Landed, Own, TestedTree, TestedTree, true, At(30))]);

        var ours = WorkflowDecider.Decide(new ObserveMerged(Landed, "bot", "bot", At(31), Own), atHead).Events;
        var theirs = WorkflowDecider.Decide(new ObserveMerged(Landed, "bot", "bot", At(31), TrainHead), atHead).Events;

        Assert.IsType<Merged>(Assert.Single(ours));
        Assert.IsType<MergedElsewhere>(Assert.Single(theirs));
    }

    [Fact]
    public void Given_a_landed_merge_commit_car_When_its_merge_commits_tree_is_checked_Then_the_difference_is_recorded_and_its_train_branch_is_removed_after()
    {
        IWorkflowEvent[] landed = [.. MergeCarWaiting(), new TrainMergePreviewed(1, Seat([1], true), Landed, Own, TestedTree, TestedTree, true, At(30)),
            new Merged(1, Landed, At(31))];
        Assert.True(TrainCarEnds.LandingToCheck(Fold(landed)));

        var same = DeciderSpec.Given(landed).When(new ObserveLandedTree(Landed, TestedTree, TestedTree, At(32)))
            .Then(new TrainCarLandingChecked(1, Landed, TestedTree, TestedTree, true, At(32)));
        var differs = WorkflowDecider.Decide(new ObserveLandedTree(Landed, OtherTree, TestedTree, At(32)), Fold(landed)).Events;
        Assert.False(Assert.IsType<TrainCarLandingChecked>(Assert.Single(differs)).Equal);

        Assert.False(TrainCarEnds.LandingToCheck(same));
        Assert.Equal(RecordBranchUpdate.RemoveTrainBranch, TrainCarEnds.Next(same));
        var branch = MergeCommitCars.TrainBranch(Main, 2);
        var removed = DeciderSpec.Given([.. landed, new TrainCarLandingChecked(1, Landed, TestedTree, TestedTree, true, At(32))])
            .When(new RecordBranchUpdate(branch, RecordBranchUpdate.RemoveTrainBranch, null, TrainHead, "done", null, At(33)))
            .Then(new TrainBranchUpdated(1, branch, RecordBranchUpdate.RemoveTrainBranch, null, TrainHead, "done", null, At(33)));
        Assert.Null(TrainCarEnds.Next(removed));
    }

    [Fact]
    public void Given_a_landed_car_whose_merge_commit_is_not_the_tested_tree_When_folded_Then_it_stops_the_train_and_its_note_says_why()
    {
        var s = Fold([.. MergeCarWaiting(), new TrainMergePreviewed(1, Seat([1], true), Landed, Own, TestedTree, TestedTree, true, At(30)),
            new Merged(1, Landed, At(31)), new TrainCarLandingChecked(1, Landed, OtherTree, TestedTree, false, At(32))]);

        Assert.True(s.Car!.Ended!.LandedUntested);
        Assert.Contains($"has the tree {OtherTree}, not the tree {TestedTree} our pipeline tested", s.Car.Ended.Note);
        Assert.Equal(RecordBranchUpdate.RemoveTrainBranch, TrainCarEnds.Next(s));
    }

    [Fact]
    public void Given_a_riding_car_When_the_train_stopped_behind_an_untested_landing_Then_its_attempt_ends_saying_so_not_as_a_ci_failure()
    {
        var stop = new ObserveTrain(new TrainSeat(Main, null, [], null, false, Rejected: MergeCommitCars.Divergence(1, Landed), Stopped: true), Landed, At(40));

        var events = DeciderSpec.Given(MergeCarWaiting()).When(stop).ThenEvents();

        Assert.IsType<TrainCarRejected>(events[0]);
        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.StartsWith("The merge train of `main` stopped (this was car 2)", failed.Reason);
        Assert.Contains($"!1 landed as {Landed}", failed.Reason);
        // One still waiting for a car was never tested: it keeps its place.
        DeciderSpec.Given(Queued).When(stop).ThenNothing();
    }

    /// <summary>A fast-forward car behind !1: its branch was rewritten to hold !1's commits under its own.</summary>
    private static IWorkflowEvent[] FastForwardCarRewritten =>
    [
        .. Queued,
        new TrainCarAssigned(1, Seat([1]), Target, TrainHead, "car 2", null, At(1)),
        new RebaseStarted(1, 1, "car 2", At(1)),
        new RewritePlanned(1, 1, Own, TrainHead, [], "bot", "bot@x", At(3)),
        new Rebased(1, Pushed, TrainHead, At(4)),
    ];

    [Fact]
    public void Given_a_fast_forward_car_whose_branch_holds_the_cars_ahead_When_it_leaves_without_landing_Then_its_branch_goes_back_to_its_authors_head_once()
    {
        IWorkflowEvent[] failed = [.. FastForwardCarRewritten, new AttemptFailed(1, WorkflowState.Checking, "CI failed!", At(5))];
        Assert.Equal(RecordBranchUpdate.RestoreAuthorBranch, TrainCarEnds.Next(Fold(failed)));
        Assert.Equal(Own, Fold(failed).Car!.AuthorHead);

        var put = new RecordBranchUpdate("two", RecordBranchUpdate.RestoreAuthorBranch, Own, Pushed, "done", null, At(6));
        var s = DeciderSpec.Given(failed).When(put)
            .Then(new TrainBranchUpdated(1, "two", RecordBranchUpdate.RestoreAuthorBranch, Own, Pushed, "done", null, At(6)));

        Assert.Null(TrainCarEnds.Next(s));
        Assert.Contains($"is back at {Own}", s.Car!.Ended!.Note);
        Assert.Empty(WorkflowDecider.Decide(put, s).Events);
    }

    [Fact]
    public void Given_a_leaving_car_When_its_author_pushed_after_the_train_Then_the_branch_is_left_and_the_note_says_so()
    {
        var s = Fold([.. FastForwardCarRewritten, new AttemptCancelled(1, "api", "no", At(5)),
            new TrainBranchUpdated(1, "two", RecordBranchUpdate.RestoreAuthorBranch, Own, Pushed, "moved", "abab", At(6))]);

        Assert.Contains("is left as it is", s.Car!.Ended!.Note);
        Assert.Null(TrainCarEnds.Next(s));
    }

    [Fact]
    public void Given_a_fast_forward_car_When_it_landed_or_was_merged_by_someone_else_or_never_pushed_Then_its_branch_is_left_alone()
    {
        Assert.Null(TrainCarEnds.Next(Fold([.. FastForwardCarRewritten, new Merged(1, Pushed, At(5))])));
        Assert.Null(TrainCarEnds.Next(Fold([.. FastForwardCarRewritten, new MergedElsewhere(1, Landed, "alice", At(5))])));
        Assert.Null(TrainCarEnds.Next(Fold([.. FastForwardCarRewritten[..3], new AttemptFailed(1, WorkflowState.Rebasing, "conflict", At(5))])));
        Assert.Null(TrainCarEnds.Next(Fold([.. FastForwardCarRewritten])));
    }

    [Fact]
    public void Given_a_semi_linear_project_When_its_train_is_planned_Then_it_is_one_car_deep_whatever_the_policy()
    {
        var deep = new MergeTrainPolicy(MergeTrainPolicy.MergeTrainStrategy, 4, 4);

        Assert.Equal((1, 1), (MergeCommitCars.PlannerPolicy(deep, MergeCommitCars.SemiLinear).InitialWindow, MergeCommitCars.PlannerPolicy(deep, "rebase_merge").Budget));
        Assert.Equal(4, MergeCommitCars.PlannerPolicy(deep, MergeCommitCars.MergeCommit).InitialWindow);
        Assert.Equal(4, MergeCommitCars.PlannerPolicy(deep, "ff").InitialWindow);
    }

    [Fact]
    public void Given_a_recorded_merge_commit_car_history_When_replayed_Then_every_decision_is_the_same()
    {
        var stream = new List<IWorkflowEvent>(Queued);
        void Decide(WorkflowCommand c) => stream.AddRange(WorkflowDecider.Decide(c, Fold(stream)).Events);
        Decide(new ObserveTrain(Seat([]), Target, At(1), true));
        stream.AddRange([new TrainCarAnnounced(1, "car-2", 77, At(2)), new RewritePlanned(1, 1, Own, Target, [], "bot", "bot@x", At(3)),
            new Rebased(1, TrainHead, Target, At(4)), new FreshnessChecked(1, TrainHead, [], false, At(5)), new PipelineCreated(1, Pipeline, TrainHead, false, At(6)),
            new PipelineObserved(1, Pipeline, "success", At(20)), new BuildVerified(1, Target, [], At(21))]);
        Decide(new ObserveMergePreview(Seat([]), Landed, Own, OtherTree, TestedTree, At(30)));
        stream.AddRange([new RewritePlanned(1, 2, Own, Landed, [], "bot", "bot@x", At(32)), new Rebased(1, Pushed, Landed, At(33)),
            new FreshnessChecked(1, Pushed, [], false, At(34)), new PipelineCreated(1, Pipeline + 1, Pushed, false, At(35)),
            new PipelineObserved(1, Pipeline + 1, "success", At(40)), new BuildVerified(1, Landed, [], At(41))]);
        Decide(new ObserveMergePreview(Seat([]), Landed, Own, TestedTree, TestedTree, At(42)));
        Decide(new RecordMerge(Landed, At(43)));
        Decide(new ObserveLandedTree(Landed, TestedTree, TestedTree, At(44)));
        Decide(new RecordBranchUpdate("t", RecordBranchUpdate.RemoveTrainBranch, null, Pushed, "done", null, At(45)));

        Assert.Equal(WorkflowState.Completed, Fold(stream).State);
        Assert.Contains(stream, e => e is TrainBranchUpdated);
        Assert.Equal(2, stream.OfType<TrainMergePreviewed>().Count());
        Assert.True(WorkflowReplay.Run(stream).Consistent);
    }
}
