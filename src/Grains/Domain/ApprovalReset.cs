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

    /// <summary>
    /// Some were no longer listed, but only when looked at after the wait had run out (the orchestrator was down, say): a
    /// removal that late cannot be told from an approver who withdrew, so nobody is approved for again.
    /// </summary>
    Lapsed,
}

/// <summary>
/// GitLab removes approvals after a push in the background, seconds later, and recent versions keep those whose patch id
/// the push did not change. So after our push, while every approver the decider allowed is still listed, the bot waits
/// up to the configured time, counted from when it first saw them all listed, then takes them as kept; once GitLab lists
/// some no more within the wait, it approves again as exactly those; seen only later, nobody (an approver may have
/// withdrawn meanwhile, and GitLab's list does not say which). Each observation that changes this is recorded, with the
/// wait in force and the head pushed, so replay re-checks when the approvals were taken as kept and for whom.
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
        // Approving again is for the head our push landed, the one the approvers' patch ids were checked for.
        if (c.Head != allowed.Facts.NewHead)
            return Decision.Reject(RejectionKind.InvalidInput, $"approvals after our push are watched on {allowed.Facts.NewHead}, not {c.Head}");
        var since = last?.Since ?? c.At;
        var dropped = allowed.Reapprove.Where(id => !c.Listed.Contains(id)).ToList();
        var waited = rules.ApprovalsKept(c.At - since, c.WaitSeconds);
        var outcome = dropped.Count > 0 ? (waited ? ApprovalResetOutcome.Lapsed : ApprovalResetOutcome.Dropped)
            : waited ? ApprovalResetOutcome.Kept
            : ApprovalResetOutcome.Waiting;
        // Still waiting, and the wait is already on record from when it began.
        if (outcome == ApprovalResetOutcome.Waiting && last is not null) return Decision.Nothing;
        return Decision.Of(new ApprovalResetObserved(state.Attempt, state.Rebases, c.Head, c.Listed, c.WaitSeconds, since, outcome,
            outcome == ApprovalResetOutcome.Dropped ? dropped : [], c.At));
    }
}
