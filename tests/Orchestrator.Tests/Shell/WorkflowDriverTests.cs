using Orchestrator.Adapters;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// The shell alone, on fakes, in milliseconds: for each state, what it reads and what it does, and that what it hands
/// the decider is the observation (the facts), never a verdict of its own.
/// </summary>
public sealed class WorkflowDriverTests
{
    private readonly ShellWorld world = new();

    private static MergeRequestWorkflow State(IEnumerable<IWorkflowEvent> events) => Fold(events);

    private static T Command<T>(StepResult result) where T : WorkflowCommand =>
        Assert.IsType<T>(Assert.IsType<StepResult.Decide>(result).Command);

    [Theory]
    [InlineData("marge-bot", true)]
    [InlineData("mallory", false)]
    public async Task Given_a_pipeline_at_our_sha_carrying_our_marker_When_building_Then_it_is_taken_as_ours_only_if_the_bot_created_it(string creator, bool ours)
    {
        // After a crash our pipeline is found again by its marker; the marker is predictable, so who created it decides.
        var marker = Markers.Pipeline(new MergeRequestKey(FakeGitLab.Project, FakeGitLab.Iid), 1, 1);
        world.GitLab.Pipelines[77] = new GitLabPipeline(77, FakeGitLab.Project, RebasedSha, "feature", "running", "api",
            new GitLabUser(creator == "marge-bot" ? FakeGitLab.Bot : 66, creator), At(5));
        world.GitLab.PipelineVariables[77] = [new GitLabVariable(WorkflowDriver.AttemptVariable, marker), new GitLabVariable("FDO_FORCE_REBUILD", "0")];

        var result = await world.StepAsync(State(Building), At(6));

        var adopted = result is StepResult.Decide { Command: RecordPipeline { PipelineId: 77 } };
        Assert.Equal(ours, adopted);
    }

    [Fact]
    public async Task Given_a_new_request_When_stepped_Then_the_checkpoint_carries_the_mrs_facts_and_gitlabs_approvals_for_the_decider()
    {
        world.GitLab.Mr = world.GitLab.Mr with { Draft = true };
        world.GitLab.Approvals = new GitLabApprovals(2, 1, [new GitLabApproval(new GitLabUser(5, "carol"))]);

        var check = Command<RecordCheckpoint>(await world.StepAsync(State(Queued), At(1)));

        Assert.Equal(PermissionCheckpoint.Request, check.Checkpoint);
        // The fake MR has the bot assigned; the policy names no trigger label, so none is looked for.
        Assert.Equal(new MergeRequestFacts("opened", true, false, true, false, null, RebasedSha, 1, 1, 2, BotAssigned: true, TargetBranch: "main"), check.MergeRequest);
        Assert.Empty(world.GitLab.Calls);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Given_a_checked_request_When_the_queue_answers_Then_the_branch_is_taken_or_the_step_waits(bool grants)
    {
        world.Queue.Grants = grants;
        var checkedRequest = State([.. Queued, new PermissionChecked(1, PermissionCheckpoint.Request, 0, null, null, [], true, "ok", At(1), "main")]);

        var result = await world.StepAsync(checkedRequest, At(2));

        if (grants) Command<StartRebase>(result);
        else Assert.Equal("!3 holds the target branch", Assert.IsType<StepResult.Wait>(result).Why);
    }

    [Fact]
    public async Task Given_an_mr_behind_its_target_When_rebasing_Then_gitlab_is_asked_once_with_skip_ci_and_the_landed_rebase_is_observed()
    {
        world.GitLab.Heads["main"] = "newer";
        var rebasing = State([.. Rebasing, new PermissionChecked(1, PermissionCheckpoint.Rebase, 1, null, null, [], true, "ok", At(2), "main")]);

        Assert.IsType<StepResult.Wait>(await world.StepAsync(rebasing, At(3)));
        Assert.Equal(["rebase skip_ci=True"], world.GitLab.Calls);
        Assert.IsType<StepResult.Wait>(await world.StepAsync(rebasing, At(4)));
        Assert.Single(world.GitLab.Calls);

        world.GitLab.Mr = world.GitLab.Mr with { Sha = "rebased", DiffRefs = new GitLabDiffRefs("newer", "rebased", "newer") };
        var seen = Command<RecordRebase>(await world.StepAsync(rebasing, At(5)));
        Assert.Equal(new RebaseFacts("opened", "rebased", "newer", "newer", null, Requested: true), seen.Facts);
    }

    [Fact]
    public async Task Given_a_verifying_attempt_When_its_target_branch_was_deleted_Then_the_step_fails_as_gitlab_s_404_which_ends_the_attempt_after_a_few()
    {
        world.GitLab.Heads.Remove("main");

        var gone = await Assert.ThrowsAsync<GitLabException>(() => world.StepAsync(State(Verifying), At(31)));

        Assert.Equal(404, gone.Status);
        Assert.Contains("the target branch main was deleted", gone.GitLabMessage);
        // The grain hands it to the decider as a refusal no retry changes: the third ends the attempt, saying why.
        var state = Enumerable.Range(0, 3).Aggregate(State(Verifying), (s, n) =>
            WorkflowDecider.Decide(new RecordStepError("gitlab", gone.Status, gone.GitLabMessage, At(32 + n)), s).Events.Aggregate(s, WorkflowEvolver.Evolve));
        Assert.Equal(WorkflowState.Failed, state.State);
        Assert.Contains("the target branch main was deleted", state.Outcome);
    }

    [Fact]
    public async Task Given_our_running_pipeline_When_the_author_marks_the_mr_draft_Then_the_poll_brings_that_fact_to_the_decider()
    {
        world.GitLab.Pipelines[Pipeline] = new GitLabPipeline(Pipeline, FakeGitLab.Project, RebasedSha, "feature", "running", "api");
        world.GitLab.Mr = world.GitLab.Mr with { Draft = true };

        var observed = Command<ObservePipeline>(await world.StepAsync(State(BuildingWithPipeline), At(10)));

        Assert.Equal(("running", true), (observed.Status, observed.MergeRequest!.Draft));
        // A poll does not look at approvals, and says so rather than recording "none given".
        Assert.False(observed.MergeRequest.ApprovalsSeen);
        // Deciding is not the shell's: the decider reads the draft and stops the attempt.
        Assert.IsType<AttemptFailed>(WorkflowDecider.Decide(observed, State(BuildingWithPipeline)).Events[^1]);
    }

    [Fact]
    public async Task Given_a_merge_gitlab_refuses_When_stepped_Then_what_gitlab_showed_afterwards_goes_to_the_decider_unclassified()
    {
        world.GitLab.OnMerge = () => throw new GitLabException(422, "Branch cannot be merged", "merge");
        world.GitLab.Heads["main"] = "moved";
        var merging = State([.. Merging, new PermissionChecked(1, PermissionCheckpoint.Merge, 1, null, null, [], true, "ok", At(33), "main")]);

        var refusal = Command<RecordMergeRefusal>(await world.StepAsync(merging, At(34)));

        Assert.Equal((422, new MergeRefusalFacts(RebasedSha, "moved", "mergeable")), (refusal.StatusCode, refusal.After));
        Assert.Null(refusal.AsRecorded);
    }

    [Fact]
    public async Task Given_a_failed_attempt_When_finished_twice_Then_one_note_with_its_marker_and_the_mr_back_with_its_author()
    {
        var failed = State(Failed);

        var first = Command<RecordNote>(await world.StepAsync(failed, At(6)));
        var again = Command<RecordNote>(await world.StepAsync(failed, At(7)));

        Assert.Equal(first.NoteId, again.NoteId);
        Assert.Contains($"<!-- orchestrator {ShellWorld.Key} attempt 1 -->", Assert.Single(world.GitLab.Notes).Body);
        Assert.Equal(["assign 100", "note"], world.GitLab.Calls);
        Assert.Equal([FakeGitLab.Iid, FakeGitLab.Iid], world.Queue.Released);
    }

    [Fact]
    public async Task Given_someone_pasted_the_outcome_marker_in_a_comment_When_finished_Then_the_bot_still_acts_and_posts_its_own_note()
    {
        world.GitLab.Notes.Add(new GitLabNote(99, $"not yours <!-- orchestrator {ShellWorld.Key} attempt 1 -->", new GitLabUser(FakeGitLab.Author, "author")));

        var noted = Command<RecordNote>(await world.StepAsync(State(Failed), At(6)));

        Assert.NotEqual(99, noted.NoteId);
        Assert.Equal(["assign 100", "note"], world.GitLab.Calls);
    }

    [Fact]
    public async Task Given_a_project_with_trailers_When_rebasing_Then_the_rewrite_is_planned_before_git_runs_and_run_exactly_as_planned()
    {
        world.Policy = new ProjectPolicy(Trailers: ["part-of"]);
        var rebasing = State([.. Rebasing, new PermissionChecked(1, PermissionCheckpoint.Rebase, 1, null, null, [], true, "ok", At(2), "main")]);

        var plan = Command<PlanRewrite>(await world.StepAsync(rebasing, At(3)));
        Assert.Empty(world.Git.Requests);
        Assert.Equal(["Part-of: <https://gitlab.example/g/p/-/merge_requests/3>"], plan.Trailers.Select(t => t.ToString()));

        var planned = State([.. Rebasing, new PermissionChecked(1, PermissionCheckpoint.Rebase, 1, null, null, [], true, "ok", At(2), "main"),
            new RewritePlanned(1, 1, plan.ExpectedSourceSha, plan.OntoSha, plan.Trailers, plan.CommitterName, plan.CommitterEmail, plan.At)]);
        var seen = Command<RecordRebase>(await world.StepAsync(planned, At(4)));

        var request = Assert.Single(world.Git.Requests);
        Assert.Equal((RebasedSha, TargetSha, plan.At, true), (request.ExpectedSourceSha, request.OntoSha, request.Committer.When, request.SkipCi));
        Assert.Equal(("c4c4", TargetSha), (seen.Facts.Sha, seen.Facts.TargetHead));
    }
}
