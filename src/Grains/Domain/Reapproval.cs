namespace Orchestrator.Domain;

/// <summary>The policy's choices for a project that removes approvals when commits are added (<c>approvalsResetOnPush</c>).</summary>
public static class ApprovalsResetOnPush
{
    /// <summary>Trailers are refused where they would cost the approvals given (the default).</summary>
    public const string Refuse = "refuse";

    /// <summary>
    /// The rewrite is pushed and each approver approves again, in their name, through an administrator's token with the
    /// <c>sudo</c> scope: only the approvers of the plan, only those still able to approve, only when the rebase changed
    /// no code (marge-bot's <c>--impersonate-approvers</c>, with guards).
    /// </summary>
    public const string Reapprove = "reapprove";

    public static readonly IReadOnlyList<string> All = [Refuse, Reapprove];
}

/// <summary>Someone whose approval was on the merge request when the rewrite was planned (before anything was pushed).</summary>
[GenerateSerializer, Alias("PlannedApprover")]
public sealed record PlannedApprover([property: Id(0)] long UserId, [property: Id(1)] string Username);

/// <summary>
/// What GitLab's members API (<c>GET /projects/:id/members/all/:user_id</c>) said of one planned approver in the target
/// project, right before the re-approval was decided: the effective access level (0: not a member), the account's state,
/// the membership's state and expiry.
/// </summary>
[GenerateSerializer, Alias("ApproverAccess")]
public sealed record ApproverAccess(
    [property: Id(0)] long UserId,
    [property: Id(1)] int AccessLevel,
    [property: Id(2)] string? UserState = "active",
    [property: Id(3)] string? MembershipState = null,
    [property: Id(4)] DateOnly? MembershipExpiresAt = null);

/// <summary>
/// What the shell saw before pushing a rewrite that will cost the approvals given: the merge request's changes as
/// approved (<paramref name="OldBase"/>..<paramref name="OldHead"/>, the old merge base and head) and as they would be
/// after the rebase (<paramref name="NewBase"/>..<paramref name="NewHead"/>), each as <c>git patch-id --verbatim</c> of
/// its diff (null: no diff, or none could be computed), and each planned approver's place in the target project.
/// </summary>
[GenerateSerializer, Alias("ReapprovalFacts")]
public sealed record ReapprovalFacts(
    [property: Id(0)] string OldBase,
    [property: Id(1)] string OldHead,
    [property: Id(2)] string NewBase,
    [property: Id(3)] string NewHead,
    [property: Id(4)] string? OldPatchId,
    [property: Id(5)] string? NewPatchId,
    [property: Id(6)] IReadOnlyList<ApproverAccess> Approvers,
    [property: Id(7)] IReadOnlyList<long>? StillApproved = null);

/// <summary>Whether the bot may approve in the approvers' names after its push, who, and why (or why not, as the note says it).</summary>
[GenerateSerializer, Alias("ReapprovalVerdict")]
public sealed record ReapprovalVerdict(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] string Reason,
    [property: Id(2)] IReadOnlyList<long> Reapprove);

/// <summary>
/// Approving in someone else's name is the one thing the bot does with more than its own rights, so it is allowed only
/// where the approval still says what its giver said: for the approvers recorded before the push, each of whom can still
/// approve (a Developer or more of the target project, an active account, a membership neither awaiting nor expired),
/// and only when the rebase changed no code (the diff from the merge base to the head has the same patch id before and
/// after). Anything unknown refuses: the project requires these approvals, so the attempt ends and nothing is pushed.
/// </summary>
public static class Reapprovals
{
    /// <summary>Whether a planned rewrite costs approvals that the policy says to give back (recorded, so replay agrees).</summary>
    public static bool Needed(RewritePlanned plan) =>
        plan.ResetsApprovalsOnPush && plan.ApprovalsGiven > 0 && plan.OnApprovalReset == ApprovalsResetOnPush.Reapprove;

    /// <summary>Why re-approval cannot even be planned (no admin token configured, approvers not recorded); null when it can.</summary>
    public static string? Unplannable(PlanRewrite c)
    {
        if (!c.ImpersonationConfigured)
            return "this project removes all approvals when commits are added, and the orchestrator's policy says to approve again as " +
                "the approvers (`approvalsResetOnPush: reapprove`), but no administrator token is configured for it. " +
                "Set `Orchestrator:GitLab:AdminToken` to a personal access token with the `sudo` scope of a GitLab administrator, " +
                "or set the policy's `approvalsResetOnPush` to `refuse`";
        if (c.Approvers is not { } approvers || approvers.Count != c.ApprovalsGiven)
            return $"GitLab listed {c.ApprovalsGiven} approval(s) but I could not tell whose, so I cannot approve again in their names";
        return null;
    }

    /// <summary>The rule (<see cref="WorkflowRules.Reapproval"/>): who may be approved for again, from the recorded facts alone.</summary>
    public static ReapprovalVerdict Judge(IReadOnlyList<PlannedApprover> planned, ReapprovalFacts facts, DateTimeOffset at)
    {
        if (facts.OldPatchId is null || facts.NewPatchId is null)
            return No("I could not tell whether rebasing it changes its code (no patch id for its changes " +
                $"{(facts.OldPatchId is null ? "as approved" : "after the rebase")}), and this project removes all approvals when commits are added, " +
                "so I do not approve again in anyone's name. " +
                "I pushed nothing: rebase it, then ask the approvers to approve again");
        if (facts.OldPatchId != facts.NewPatchId)
            return No($"rebasing it onto {Short(facts.NewBase)} changes its code (patch id {Short(facts.OldPatchId)} as approved, " +
                $"{Short(facts.NewPatchId)} after the rebase: a conflict resolved, or a target that already holds part of the change). " +
                "This project removes all approvals when commits are added, and the approvals given are not for what would merge, " +
                "so I do not give them again in the approvers' names. I pushed nothing: rebase it, then ask the approvers to approve again");
        if (planned.Count == 0) return No("no approver was recorded before the rewrite, so there is no one to approve again for");
        var lost = new List<string>();
        foreach (var approver in planned)
        {
            var seen = facts.Approvers.FirstOrDefault(a => a.UserId == approver.UserId);
            var who = "@" + approver.Username;
            var why = seen is null ? $"{who} was not looked up"
                // An approval withdrawn since the plan is that person's decision: never given back in their name.
                : facts.StillApproved is { } still && !still.Contains(approver.UserId) ? $"{who} no longer approves it"
                : MergePermission.Standing(who, seen.UserState, seen.MembershipState, seen.MembershipExpiresAt, at)
                ?? (seen.AccessLevel == 0 ? $"{who} is no longer a member of this project"
                    : seen.AccessLevel < MergePermission.Developer ? $"{who} has only access level {seen.AccessLevel} here" : null);
            if (why is not null) lost.Add(why);
        }
        if (lost.Count > 0)
            return No($"{string.Join("; ", lost)}, so I cannot approve again in their name after my push, which removes the approvals " +
                "given (this project removes all approvals when commits are added). I pushed nothing: rebase it, then ask for the approvals again");
        return new(true, $"the rebase changes no code (patch id {Short(facts.NewPatchId)}) and every approver can still approve: " +
            string.Join(", ", planned.Select(p => "@" + p.Username)), [.. planned.Select(p => p.UserId)]);
    }

    /// <summary>The decision on the pre-push observation: recorded whatever it says, followed by the attempt's end when it refuses.</summary>
    internal static Decision Decide(CheckReapproval c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        var verdict = rules.Reapproval(state.PlannedRewrite?.Approvers ?? [], c.Facts, c.At);
        var checkedEvent = new ReapprovalChecked(state.Attempt, state.Rebases, c.Facts, verdict.Allowed, verdict.Reason, verdict.Reapprove, c.At);
        return verdict.Allowed
            ? Decision.Of(checkedEvent)
            : Decision.Of(checkedEvent, new AttemptFailed(state.Attempt, state.State, verdict.Reason, c.At));
    }

    private static ReapprovalVerdict No(string reason) => new(false, reason, []);

    private static string Short(string sha) => sha[..Math.Min(12, sha.Length)];
}
