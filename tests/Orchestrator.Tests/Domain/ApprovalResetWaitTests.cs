using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// After our push, where approvals are given again: the decider waits for GitLab's delayed removal of approvals from the
/// first time it sees every approver still listed, takes them as kept once the recorded wait has passed, and names the
/// approvers GitLab dropped; replay re-checks when the approvals were taken as kept.
/// </summary>
public sealed class ApprovalResetWaitTests
{
    private const string Head = "c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4";
    private static readonly DateTimeOffset Pushed = At(6);

    private static readonly RewritePlanned Plan = new(1, 1, "e1e1", TargetSha, [], "marge-bot", "m@x", At(3), true, 2, ApprovalsResetOnPush.Reapprove,
        [new PlannedApprover(11, "alice"), new PlannedApprover(12, "bob")], true);

    /// <summary>A rewrite planned and its re-approval allowed, as the decider records them (so replay agrees with them too).</summary>
    private static IWorkflowEvent[] Allowed =>
    [
        .. Rebasing, Plan,
        .. WorkflowDecider.Decide(new CheckReapproval(new ReapprovalFacts("d0d0", "e1e1", TargetSha, Head, "9a9a", "9a9a", [new(11, 30), new(12, 30)]), At(4)),
            Fold([.. Rebasing, Plan])).Events,
    ];

    private static ObserveApprovalReset Listed(int seconds, params long[] listed) => new(Head, listed, 30, Pushed.AddSeconds(seconds));

    private static ApprovalResetObserved Waiting => new(1, 1, Head, [11, 12], 30, Pushed, ApprovalResetOutcome.Waiting, [], Pushed);

    [Fact]
    public void Given_our_push_When_gitlab_still_lists_every_approver_Then_the_wait_begins_on_record()
    {
        var state = Given(Allowed).When(Listed(0, 11, 12)).Then(Waiting);

        Assert.Equal(Pushed, state.ApprovalReset!.Since);
    }

    [Fact]
    public void Given_the_wait_begun_When_every_approver_is_still_listed_before_it_runs_out_Then_nothing_is_recorded()
    {
        Given([.. Allowed, Waiting]).When(Listed(29, 11, 12)).ThenNothing();
    }

    [Fact]
    public void Given_the_wait_begun_When_every_approver_is_still_listed_once_it_ran_out_Then_the_approvals_are_taken_as_kept_and_no_one_is_approved_for()
    {
        var state = Given([.. Allowed, Waiting]).When(Listed(30, 12, 11))
            .Then(new ApprovalResetObserved(1, 1, Head, [12, 11], 30, Pushed, ApprovalResetOutcome.Kept, [], Pushed.AddSeconds(30)));

        Assert.Equal(ApprovalResetOutcome.Kept, state.ApprovalReset!.Outcome);
        // Settled: later looks change nothing, even one where GitLab dropped someone after all (the merge's check reads the approvals again).
        Given([.. Allowed, Waiting, state.ApprovalReset]).When(Listed(40)).ThenNothing();
    }

    [Fact]
    public void Given_a_wait_of_nothing_When_every_approver_is_listed_Then_they_are_taken_as_kept_at_once()
    {
        Given(Allowed).When(Listed(0, 11, 12) with { WaitSeconds = 0 })
            .Then(new ApprovalResetObserved(1, 1, Head, [11, 12], 0, Pushed, ApprovalResetOutcome.Kept, [], Pushed));
    }

    [Fact]
    public void Given_the_wait_begun_When_gitlab_dropped_one_Then_exactly_that_one_is_to_be_approved_for_again()
    {
        Given([.. Allowed, Waiting]).When(Listed(12, 11, 99))
            .Then(new ApprovalResetObserved(1, 1, Head, [11, 99], 30, Pushed, ApprovalResetOutcome.Dropped, [12], Pushed.AddSeconds(12)));
    }

    [Fact]
    public void Given_the_wait_begun_When_an_approver_is_first_seen_gone_only_after_it_ran_out_Then_nobody_is_approved_for()
    {
        // The orchestrator was down past the wait: alice may have withdrawn meanwhile, and GitLab's list does not say so.
        var state = Given([.. Allowed, Waiting]).When(Listed(3600, 12))
            .Then(new ApprovalResetObserved(1, 1, Head, [12], 30, Pushed, ApprovalResetOutcome.Lapsed, [], Pushed.AddSeconds(3600)));

        Assert.Empty(state.ApprovalReset!.Reapprove);
        Given([.. Allowed, Waiting, state.ApprovalReset]).When(Listed(3700)).ThenNothing();
    }

    [Fact]
    public void Given_approvals_watched_after_our_push_When_an_observation_names_another_head_Then_it_is_refused()
    {
        var refused = Given([.. Allowed, Waiting]).When(Listed(12, 11) with { Head = "f00d" }).ThenRejected(RejectionKind.InvalidInput);

        Assert.Contains(Head, refused.Reason);
    }

    [Fact]
    public void Given_no_reapproval_allowed_When_approvals_are_observed_after_a_push_Then_it_is_refused()
    {
        Given([.. Allowed[..^1]]).When(Listed(0, 11, 12)).ThenRejected(RejectionKind.InvalidState);
    }

    [Fact]
    public void Given_a_new_rebase_When_it_starts_Then_the_wait_of_the_last_push_is_forgotten()
    {
        var state = Fold([.. Allowed, Waiting, new RebaseStarted(1, 2, "target branch moved", At(9))]);

        Assert.Null(state.ApprovalReset);
    }

    [Fact]
    public void Given_a_recorded_wait_When_replayed_Then_when_the_approvals_were_taken_as_kept_is_checked_again()
    {
        var kept = new ApprovalResetObserved(1, 1, Head, [11, 12], 30, Pushed, ApprovalResetOutcome.Kept, [], Pushed.AddSeconds(31));
        Assert.True(WorkflowReplay.Run([.. Allowed, Waiting, kept]).Consistent);

        // Taken as kept 10 s into a 30 s wait: no rule of today's explains it; today's rule keeps waiting.
        var early = kept with { At = Pushed.AddSeconds(10) };
        var replay = WorkflowReplay.Run([.. Allowed, Waiting, early]);
        var differing = Assert.Single(replay.Decisions, d => !d.Same);
        Assert.Equal(nameof(ObserveApprovalReset), differing.Command);
        Assert.Empty(differing.Decided);
        // And a record that claims a longer wait than the one it was observed with is caught too.
        Assert.False(WorkflowReplay.Run([.. Allowed, Waiting, kept with { WaitSeconds = 60 }]).Consistent);
    }
}
