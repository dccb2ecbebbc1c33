namespace Orchestrator.Domain;

/// <summary>What the bot made of the approvals GitLab listed after our push, where it approves again as the approvers.</summary>
public enum ApprovalResetOutcome
{
    /// <summary>Every approver is still listed: GitLab may not have removed them yet, so the bot waits.</summary>
    Waiting,

    /// <summary>Every approver was still listed when the wait ran out: GitLab kept them (their patch ids did not change).</summary>
    Kept,

    /// <summary>GitLab dropped some: the bot approves again as those, and only those.</summary>
    Dropped,
}

/// <summary>
/// GitLab removes approvals after a push in the background, seconds later, and recent versions keep those whose patch id
/// the push did not change. So after our push, while every approver the decider allowed is still listed, the bot waits
/// up to the configured time, counted from when it first saw them all listed, then takes them as kept; once GitLab lists
/// some no more, it approves again as exactly those. Each observation that changes this is recorded, with the wait in
/// force, so replay re-checks when the approvals were taken as kept.
/// </summary>
public static class ApprovalResets
{
    /// <summary>The observation after our push, judged against the re-approval allowed before it and what was seen since.</summary>
    internal static Decision Decide(ObserveApprovalReset c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        if (state.Reapproval is not { Allowed: true, Rebase: var rebase } allowed || rebase != state.Rebases)
            return Decision.Reject(RejectionKind.InvalidState, "no re-approval was allowed for this rebase, so there are no approvals to watch after the push");
        var last = state.ApprovalReset is { } seen && seen.Rebase == state.Rebases ? seen : null;
        if (last is { Outcome: not ApprovalResetOutcome.Waiting }) return Decision.Nothing;
        var since = last?.Since ?? c.At;
        var dropped = allowed.Reapprove.Where(id => !c.Listed.Contains(id)).ToList();
        var outcome = dropped.Count > 0 ? ApprovalResetOutcome.Dropped
            : rules.ApprovalsKept(c.At - since, c.WaitSeconds) ? ApprovalResetOutcome.Kept
            : ApprovalResetOutcome.Waiting;
        // Still waiting, and the wait is already on record from when it began.
        if (outcome == ApprovalResetOutcome.Waiting && last is not null) return Decision.Nothing;
        return Decision.Of(new ApprovalResetObserved(state.Attempt, state.Rebases, c.Head, c.Listed, c.WaitSeconds, since, outcome, dropped, c.At));
    }
}
