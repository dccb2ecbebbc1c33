using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// Approving again in the approvers' names after a rewrite (policy <c>approvalsResetOnPush: reapprove</c>): each guard
/// refuses on its own, before anything is pushed, and the attempt ends (the project requires those approvals).
/// </summary>
public sealed class ReapprovalDeciderTests
{
    private const string Expected = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
    private const string OldBase = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
    private const string PatchId = "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a";
    private static readonly PlannedApprover Alice = new(11, "alice"), Bob = new(12, "bob");
    private static readonly IReadOnlyList<Orchestrator.Domain.Trailers.Trailer> ReviewedBy = [new("Reviewed-by", "Alice <alice@example.com>")];

    private static PlanRewrite Plan(string onReset = ApprovalsResetOnPush.Reapprove, bool configured = true, IReadOnlyList<PlannedApprover>? approvers = null,
        int? given = null)
    {
        approvers ??= [Alice, Bob];
        return new PlanRewrite(Expected, TargetSha, ReviewedBy, "marge-bot", "m@x", At(2), true, given ?? approvers.Count, onReset, approvers, configured);
    }

    private static RewritePlanned Planned(PlanRewrite c) => new(1, 1, c.ExpectedSourceSha, c.OntoSha, c.Trailers, c.CommitterName, c.CommitterEmail, c.At,
        c.ResetsApprovalsOnPush, c.ApprovalsGiven, c.OnApprovalReset, c.Approvers, c.ImpersonationConfigured);

    private static IWorkflowEvent[] PlannedToReapprove => [.. Rebasing, Planned(Plan())];

    private static ApproverAccess Developer(PlannedApprover a) => new(a.UserId, MergePermission.Developer);

    private static ReapprovalFacts Facts(string? oldPatch = PatchId, string? newPatch = PatchId, params ApproverAccess[] approvers) =>
        new(OldBase, Expected, TargetSha, RebasedSha, oldPatch, newPatch, approvers.Length > 0 ? approvers : [Developer(Alice), Developer(Bob)]);

    private static AttemptFailed Refusal(ReapprovalFacts facts) =>
        Assert.IsType<AttemptFailed>(Given(PlannedToReapprove).When(new CheckReapproval(facts, At(3))).ThenEvents()[1]);

    [Fact]
    public void Given_a_policy_that_reapproves_When_a_rewrite_would_cost_the_approvals_Then_it_is_planned_with_whose_they_are_and_nothing_fails()
    {
        var state = Given(Rebasing).When(Plan()).Then(Planned(Plan()));

        Assert.Equal([Alice, Bob], state.PlannedRewrite!.Approvers);
        Assert.True(Reapprovals.Needed(state.PlannedRewrite));
    }

    [Fact]
    public void Given_a_policy_that_reapproves_When_no_admin_token_is_configured_Then_the_attempt_fails_naming_the_setting_and_nothing_is_pushed()
    {
        var reason = Assert.IsType<AttemptFailed>(Given(Rebasing).When(Plan(configured: false)).ThenEvents()[1]).Reason;

        Assert.Contains("Orchestrator:GitLab:AdminToken", reason);
        Assert.Contains("`sudo` scope", reason);
    }

    [Fact]
    public void Given_a_policy_that_reapproves_When_gitlab_counted_approvals_it_did_not_name_Then_the_attempt_fails_rather_than_guess_whose()
    {
        Assert.Contains("could not tell whose", Assert.IsType<AttemptFailed>(Given(Rebasing).When(Plan(approvers: [Alice], given: 2)).ThenEvents()[1]).Reason);
        Assert.Contains("could not tell whose", Assert.IsType<AttemptFailed>(Given(Rebasing)
            .When(new PlanRewrite(Expected, TargetSha, ReviewedBy, "marge-bot", "m@x", At(2), true, 1, ApprovalsResetOnPush.Reapprove, null, true)).ThenEvents()[1]).Reason);
    }

    [Fact]
    public void Given_the_default_policy_When_a_rewrite_would_cost_the_approvals_Then_it_is_refused_and_the_note_names_the_choice()
    {
        var reason = Assert.IsType<AttemptFailed>(Given(Rebasing).When(Plan(onReset: ApprovalsResetOnPush.Refuse)).ThenEvents()[1]).Reason;

        Assert.Contains("would drop the 2 approval(s)", reason);
        Assert.Contains("approvalsResetOnPush: reapprove", reason);
    }

    [Fact]
    public void Given_an_unchanged_patch_and_able_approvers_When_checked_before_the_push_Then_each_planned_approver_may_be_approved_for_again()
    {
        var state = Given(PlannedToReapprove).When(new CheckReapproval(Facts(), At(3))).Then(new ReapprovalChecked(1, 1, Facts(), true,
            "the rebase changes no code (patch id 9a9a9a9a9a9a) and every approver can still approve: @alice, @bob", [Alice.UserId, Bob.UserId], At(3)));

        Assert.Equal(WorkflowState.Rebasing, state.State);
        Assert.True(state.Reapproval!.Allowed);
    }

    [Fact]
    public void Given_a_rebase_that_changes_the_patch_When_checked_before_the_push_Then_no_one_is_approved_for_and_the_approvers_must_approve_again()
    {
        var events = Given(PlannedToReapprove).When(new CheckReapproval(Facts(newPatch: "7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b"), At(3))).ThenEvents();

        var check = Assert.IsType<ReapprovalChecked>(events[0]);
        Assert.False(check.Allowed);
        Assert.Empty(check.Reapprove);
        var reason = Assert.IsType<AttemptFailed>(events[1]).Reason;
        Assert.Contains("changes its code (patch id 9a9a9a9a9a9a as approved, 7b7b7b7b7b7b after the rebase", reason);
        Assert.Contains("I pushed nothing", reason);
        Assert.Contains("ask the approvers to approve again", reason);
    }

    [Theory]
    [InlineData(null, PatchId, "as approved")]
    [InlineData(PatchId, null, "after the rebase")]
    public void Given_a_patch_id_that_could_not_be_computed_When_checked_before_the_push_Then_it_fails_closed(string? before, string? after, string missing) =>
        Assert.Contains($"no patch id for its changes {missing}", Refusal(Facts(before, after)).Reason);

    [Theory]
    [InlineData(0, "active", null, null, "@bob is no longer a member of this project")]
    [InlineData(20, "active", null, null, "@bob has only access level 20 here")]
    [InlineData(30, "blocked", null, null, "the GitLab account of @bob is blocked")]
    [InlineData(30, "active", "awaiting", null, "the membership of @bob awaits approval")]
    [InlineData(30, "active", "active", "2026-11-27", "the membership of @bob expired on 2026-11-27")]
    public void Given_an_approver_who_can_no_longer_approve_When_checked_before_the_push_Then_no_one_is_approved_for_and_the_attempt_fails_closed(
        int level, string userState, string? membership, string? expires, string why)
    {
        var bob = new ApproverAccess(Bob.UserId, level, userState, membership, expires is null ? null : DateOnly.Parse(expires));

        var reason = Refusal(Facts(approvers: [Developer(Alice), bob])).Reason;

        Assert.StartsWith(why, reason);
        Assert.Contains("I pushed nothing", reason);
        Assert.DoesNotContain("@alice", reason);
    }

    [Fact]
    public void Given_an_approver_who_withdrew_since_the_plan_When_checked_before_the_push_Then_no_one_is_approved_for_in_their_name()
    {
        var withdrawn = Facts() with { StillApproved = [Alice.UserId] };
        Assert.StartsWith("@bob no longer approves it", Refusal(withdrawn).Reason);
        Assert.True(Reapprovals.Judge([Alice, Bob], Facts() with { StillApproved = [Alice.UserId, Bob.UserId] }, At(3)).Allowed);
    }

    [Fact]
    public void Given_an_approver_nobody_looked_up_When_checked_Then_it_fails_closed_and_an_unplanned_user_is_never_approved_for()
    {
        var stranger = new ApproverAccess(99, MergePermission.Maintainer);

        Assert.StartsWith("@bob was not looked up", Refusal(Facts(approvers: [Developer(Alice), stranger])).Reason);
        var allowed = Reapprovals.Judge([Alice], Facts(approvers: [Developer(Alice), stranger]), At(3));
        Assert.Equal([Alice.UserId], allowed.Reapprove);
    }

    [Fact]
    public void Given_a_checked_reapproval_When_the_check_is_repeated_Then_the_first_stands_and_a_new_rebase_checks_again()
    {
        IWorkflowEvent[] checkedOnce = [.. PlannedToReapprove, new ReapprovalChecked(1, 1, Facts(), true, "ok", [Alice.UserId, Bob.UserId], At(3))];

        Given(checkedOnce).When(new CheckReapproval(Facts(newPatch: "7b7b"), At(4))).ThenNothing();
        var rebasedAgain = Given([.. checkedOnce, new Rebased(1, RebasedSha, TargetSha, At(4)), new TargetMoved(1, TargetSha, "e5e5", At(5), 3),
            new RebaseStarted(1, 2, "target branch moved", At(5))]).When(new ObserveClock(new ClockReading(30, 60), At(6))).ThenNothing();
        Assert.Null(rebasedAgain.Reapproval);
    }

    [Theory]
    [InlineData(ApprovalsResetOnPush.Refuse)]
    [InlineData("none")]
    public void Given_no_rewrite_to_reapprove_for_When_a_reapproval_check_arrives_Then_it_is_rejected(string onReset)
    {
        Given(Rebasing).When(new CheckReapproval(Facts(), At(3))).ThenRejected(RejectionKind.InvalidState);
        var plan = onReset == "none" ? Plan() with { ResetsApprovalsOnPush = false } : Plan(onReset);
        Given([.. Rebasing, Planned(plan)]).When(new CheckReapproval(Facts(), At(3))).ThenRejected(RejectionKind.InvalidState);
    }

    [Fact]
    public void Given_a_stream_with_a_reapproval_When_replayed_Then_every_decision_agrees_and_a_rule_that_lets_anyone_through_is_caught()
    {
        var refused = Given(PlannedToReapprove).When(new CheckReapproval(Facts(newPatch: "7b7b"), At(3))).ThenEvents();
        IWorkflowEvent[] stream = [.. PlannedToReapprove, .. refused];

        Assert.True(WorkflowReplay.Run(stream, WorkflowRules.Current).Consistent);
        var lax = WorkflowRules.Current with { Reapproval = (planned, _, _) => new ReapprovalVerdict(true, "anyone", [.. planned.Select(p => p.UserId)]) };
        var report = WorkflowReplay.Run(stream, lax);
        Assert.False(report.Consistent);
        Assert.Equal("CheckReapproval", Assert.Single(report.Decisions, d => !d.Same).Command);
    }

    [Fact]
    public void Given_an_allowed_reapproval_When_our_push_landed_another_head_than_the_one_judged_Then_the_attempt_fails_and_replay_agrees()
    {
        IWorkflowEvent[] allowed = [.. PlannedToReapprove, .. Given(PlannedToReapprove).When(new CheckReapproval(Facts(), At(3))).ThenEvents()];
        Assert.True(Assert.IsType<ReapprovalChecked>(allowed[^1]).Allowed);
        var other = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";

        var events = Given(allowed).When(RecordRebase.Landed(other, Facts().NewBase, At(4))).ThenEvents();

        Assert.IsType<Rebased>(events[0]);
        Assert.StartsWith($"my rewrite is at {other}, not at the {Facts().NewHead}", Assert.IsType<AttemptFailed>(events[1]).Reason);
        Assert.True(WorkflowReplay.Run([.. allowed, .. events]).Consistent);
        // The head judged lands: nothing to say.
        Assert.IsType<Rebased>(Assert.Single(Given(allowed).When(RecordRebase.Landed(Facts().NewHead, Facts().NewBase, At(4))).ThenEvents()));
    }
}
