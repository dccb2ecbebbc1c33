using Orchestrator.Adapters;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// The shell's half of approving again as the approvers: it observes before the push (our git's preview, the members
/// API) and hands the facts over; after the push it approves, through the administrator's client only, exactly the
/// approvers the decider allowed and GitLab dropped, at the pushed head.
/// </summary>
public sealed class ReapprovalDriverTests
{
    private const string Pushed = "c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4";
    private readonly ShellWorld world = new();
    private static readonly GitLabApprovals Given2 = new(2, 0, [new GitLabApproval(new GitLabUser(11, "alice")), new GitLabApproval(new GitLabUser(12, "bob"))]);

    public ReapprovalDriverTests()
    {
        world.Policy = new ProjectPolicy(Trailers: ["reviewed-by"], ApprovalsResetOnPush: ApprovalsResetOnPush.Reapprove);
        world.GitLab.ProjectApprovals = new GitLabProjectApprovals(ResetApprovalsOnPush: true);
        world.GitLab.Approvals = Given2;
        world.Git.Result = new GitRewriteResult.Pushed(Pushed, TargetSha, [Pushed]);
    }

    private static T Command<T>(StepResult result) where T : WorkflowCommand => Assert.IsType<T>(Assert.IsType<StepResult.Decide>(result).Command);

    private static readonly IWorkflowEvent[] Checked = [.. Rebasing, new PermissionChecked(1, PermissionCheckpoint.Rebase, 1, null, null, [], true, "ok", At(2), "main")];

    private static RewritePlanned Plan(PlanRewrite c) => new(1, 1, c.ExpectedSourceSha, c.OntoSha, c.Trailers, c.CommitterName, c.CommitterEmail, c.At,
        c.ResetsApprovalsOnPush, c.ApprovalsGiven, c.OnApprovalReset, c.Approvers, c.ImpersonationConfigured);

    private async Task<RewritePlanned> PlannedAsync() => Plan(Command<PlanRewrite>(await world.StepAsync(Fold(Checked), At(3))));

    /// <summary>
    /// Steps after the push: what GitLab lists goes to the decider first (recorded here as the grain would), then the
    /// step acts on what it decided.
    /// </summary>
    private async Task<StepResult> AfterPushAsync(MergeRequestWorkflow state, DateTimeOffset at)
    {
        var seen = Command<ObserveApprovalReset>(await world.StepAsync(state, at));
        Assert.Equal(Pushed, seen.Head);
        return await world.StepAsync(WorkflowDecider.Decide(seen, state).Events.Aggregate(state, WorkflowEvolver.Evolve), at);
    }

    private static ReapprovalChecked Allowed(RewritePlanned plan, string head = Pushed) => new(1, 1,
        new ReapprovalFacts("d0d0", plan.ExpectedSourceSha, TargetSha, head, "9a9a", "9a9a", [new(11, 30), new(12, 40)]), true, "ok", [11, 12], At(5));

    [Fact]
    public async Task Given_a_policy_that_reapproves_When_the_rewrite_is_planned_Then_the_plan_records_whose_approvals_the_push_costs()
    {
        var plan = Command<PlanRewrite>(await world.StepAsync(Fold(Checked), At(3)));

        Assert.Equal((true, 2, ApprovalsResetOnPush.Reapprove, true), (plan.ResetsApprovalsOnPush, plan.ApprovalsGiven, plan.OnApprovalReset, plan.ImpersonationConfigured));
        Assert.Equal([new PlannedApprover(11, "alice"), new PlannedApprover(12, "bob")], plan.Approvers);
        world.Sudo.Configured = false;
        Assert.False(Command<PlanRewrite>(await world.StepAsync(Fold(Checked), At(3))).ImpersonationConfigured);
    }

    [Fact]
    public async Task Given_a_planned_rewrite_that_costs_approvals_When_stepped_Then_git_previews_it_pushes_nothing_and_the_facts_go_to_the_decider()
    {
        var plan = await PlannedAsync();
        world.Git.Preview = new GitRewriteResult.Previewed(Pushed, TargetSha, [Pushed], "d0d0", "9a9a", "9a9a");
        world.GitLab.Members[11] = new GitLabMember(11, "alice", 30, State: "active"); // GitLab always names the account's state; unknown is refused
        world.GitLab.Members[12] = null;

        var check = Command<CheckReapproval>(await world.StepAsync(Fold([.. Checked, plan]), At(4)));

        Assert.Empty(world.Git.Requests);
        Assert.Equal(plan.ExpectedSourceSha, Assert.Single(world.Git.Previews).ExpectedSourceSha);
        IReadOnlyList<ApproverAccess> none = [];
        Assert.Equal(new ReapprovalFacts("d0d0", plan.ExpectedSourceSha, TargetSha, Pushed, "9a9a", "9a9a", none),
            check.Facts with { Approvers = none, StillApproved = null });
        Assert.Equal([new ApproverAccess(11, 30), new ApproverAccess(12, 0)], check.Facts.Approvers);
        // Who approves right before the push is looked at too, so a withdrawn approval is never given back.
        Assert.Equal([11L, 12L], check.Facts.StillApproved);
        Assert.Empty(world.Sudo.Approvals);
        Assert.Equal([11L, 12L], world.Sudo.LookedUp);
    }

    [Fact]
    public async Task Given_an_admin_token_gitlab_refuses_sudo_to_When_checked_before_the_push_Then_the_refusal_surfaces_and_nothing_is_pushed()
    {
        var plan = await PlannedAsync();
        world.Git.Preview = new GitRewriteResult.Previewed(Pushed, TargetSha, [Pushed], "d0d0", "9a9a", "9a9a");
        world.Sudo.Refuse = _ => new GitLabException(403, "403 Forbidden - Must be admin to use sudo", "/user");

        var refused = await Assert.ThrowsAsync<GitLabException>(() => world.StepAsync(Fold([.. Checked, plan]), At(4)));

        Assert.Equal(403, refused.Status);
        Assert.Empty(world.Git.Requests);
    }

    [Fact]
    public async Task Given_a_preview_that_conflicts_When_stepped_Then_the_rewrite_fails_as_a_push_would_have()
    {
        var plan = await PlannedAsync();
        world.Git.Preview = new GitRewriteResult.Conflict("c0ffee", ["a.txt"]);

        Assert.Equal("conflict", Command<RecordRewriteFailure>(await world.StepAsync(Fold([.. Checked, plan]), At(4))).Kind);
    }

    [Fact]
    public async Task Given_an_allowed_reapproval_When_the_push_drops_the_approvals_Then_each_approver_is_approved_for_at_the_pushed_head_and_the_rebase_recorded()
    {
        var plan = await PlannedAsync();
        world.GitLab.Approvals = new GitLabApprovals(2, 2, []);

        var landed = Command<RecordRebase>(await AfterPushAsync(Fold([.. Checked, plan, Allowed(plan)]), At(6)));

        Assert.Equal(Pushed, landed.Facts.Sha);
        Assert.Equal([(FakeGitLab.Project, FakeGitLab.Iid, Pushed, 11L), (FakeGitLab.Project, FakeGitLab.Iid, Pushed, 12L)], world.Sudo.Approvals);
        Assert.Empty(world.Git.Previews);
    }

    [Fact]
    public async Task Given_an_allowed_reapproval_When_gitlab_still_lists_every_approver_Then_the_decider_waits_for_the_reset_and_then_takes_them_as_kept()
    {
        var plan = await PlannedAsync();
        var state = Fold([.. Checked, plan, Allowed(plan)]);

        // The wait begins on record, so it outlives the activation that saw it begin.
        var first = Command<ObserveApprovalReset>(await world.StepAsync(state, At(6)));
        Assert.Equal([11L, 12L], first.Listed);
        Assert.Equal(30, first.WaitSeconds);
        state = WorkflowDecider.Decide(first, state).Events.Aggregate(state, WorkflowEvolver.Evolve);
        Assert.Equal((ApprovalResetOutcome.Waiting, At(6)), (state.ApprovalReset!.Outcome, state.ApprovalReset.Since));
        Assert.IsType<StepResult.Wait>(await world.StepAsync(state, At(6).AddSeconds(20)));
        var kept = Command<ObserveApprovalReset>(await world.StepAsync(state, At(6).AddSeconds(31)));
        state = WorkflowDecider.Decide(kept, state).Events.Aggregate(state, WorkflowEvolver.Evolve);
        Assert.Equal(ApprovalResetOutcome.Kept, state.ApprovalReset!.Outcome);
        Assert.Equal(Pushed, Command<RecordRebase>(await world.StepAsync(state, At(6).AddSeconds(32))).Facts.Sha);
        Assert.Empty(world.Sudo.Approvals);
    }

    [Fact]
    public async Task Given_an_allowed_reapproval_When_gitlab_dropped_only_one_Then_only_that_one_is_approved_for()
    {
        var plan = await PlannedAsync();
        world.GitLab.Approvals = new GitLabApprovals(2, 1, [new GitLabApproval(new GitLabUser(11, "alice"))]);

        Command<RecordRebase>(await AfterPushAsync(Fold([.. Checked, plan, Allowed(plan)]), At(6)));

        Assert.Equal(12L, Assert.Single(world.Sudo.Approvals).User);
    }

    [Fact]
    public async Task Given_an_allowed_reapproval_When_the_pushed_head_is_not_the_one_checked_Then_no_one_is_approved_for_and_the_attempt_fails()
    {
        var plan = await PlannedAsync();
        world.GitLab.Approvals = new GitLabApprovals(2, 2, []);

        var state = Fold([.. Checked, plan, Allowed(plan, head: "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5")]);
        var landed = Command<RecordRebase>(await world.StepAsync(state, At(6)));

        // The push is recorded as it landed, and the decider ends the attempt on it: replay checks the head too.
        Assert.Contains("whose changes were checked", Assert.IsType<AttemptFailed>(WorkflowDecider.Decide(landed, state).Events[^1]).Reason);
        Assert.Empty(world.Sudo.Approvals);
    }

    [Fact]
    public async Task Given_an_allowed_reapproval_When_gitlab_refuses_an_approver_Then_the_attempt_fails_and_a_401_for_one_already_approved_is_fine()
    {
        var plan = await PlannedAsync();
        world.GitLab.Approvals = new GitLabApprovals(2, 2, []);
        // Alice's approval lands meanwhile (GitLab answers 401 to the repeat); bob's is refused outright.
        world.Sudo.Refuse = id =>
        {
            if (id == 11) world.GitLab.Approvals = new GitLabApprovals(2, 1, [new GitLabApproval(new GitLabUser(11, "alice"))]);
            return new GitLabException(401, "401 Unauthorized", "/approve");
        };

        var fail = Command<Fail>(await AfterPushAsync(Fold([.. Checked, plan, Allowed(plan)]), At(6)));

        Assert.StartsWith("GitLab did not let user 12 approve again", fail.Reason);
    }
}
