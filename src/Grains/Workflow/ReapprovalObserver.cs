using Orchestrator.Adapters;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain;
using Orchestrator.Hosting;

namespace Orchestrator.Workflow;

/// <summary>
/// The shell's half of approving again in the approvers' names (policy <c>approvalsResetOnPush: reapprove</c>): before
/// the push it observes what the decider judges (the patch ids of the merge request's changes before and after the
/// rebase, from our own git, and each planned approver's membership, as the permission observer reads it); after the
/// push it approves as each approver the decider allowed, and only those GitLab dropped.
/// </summary>
public sealed class ReapprovalObserver(IGitLabClient gitlab, IGitLabImpersonation sudo, Microsoft.Extensions.Options.IOptions<OrchestratorOptions> options)
{
    /// <summary>Whether an administrator's token is there to approve with (recorded in the plan, so replay agrees).</summary>
    public bool Configured => sudo.Configured;

    /// <summary>The facts for <see cref="CheckReapproval"/>, seen before anything is pushed (<see cref="IGitWorker.PreviewAsync"/>).</summary>
    public async Task<CheckReapproval> ObserveAsync(RewritePlanned plan, GitRewriteResult.Previewed preview, long targetProject, long mrIid, DateTimeOffset now,
        CancellationToken ct)
    {
        var approvers = new List<ApproverAccess>();
        foreach (var approver in plan.Approvers ?? [])
        {
            // The administrator's token must be able to act as them at all: found out now, before the push costs the approvals.
            var self = await sudo.UserAsAsync(approver.UserId, ct);
            if (self.Id != approver.UserId)
                throw new InvalidOperationException($"GitLab answered as user {self.Id} when asked to act as user {approver.UserId}");
            var member = await gitlab.GetMemberAsync(targetProject, approver.UserId, ct);
            approvers.Add(member is null
                ? new ApproverAccess(approver.UserId, 0)
                : new ApproverAccess(approver.UserId, member.AccessLevel, member.State, member.MembershipState, member.ExpiresAt));
        }
        // Who approves right now, before the push: someone who withdrew since the plan is not approved again in their name.
        var still = await ApproversAsync(targetProject, mrIid, ct);
        return new CheckReapproval(new ReapprovalFacts(preview.OldBase, plan.ExpectedSourceSha, preview.Onto, preview.Head, preview.OldPatchId,
            preview.NewPatchId, approvers, [.. still.Order()]), now);
    }

    /// <summary>
    /// After our push of <paramref name="head"/>: whom GitLab lists now goes to the decider, which says whether to wait for
    /// GitLab's delayed removal of approvals (<see cref="WorkflowSettings.ApprovalResetWait"/>), take them as kept, or
    /// approve again as those dropped (<see cref="ApprovalResets"/>); then approves as exactly those. Null when done; the
    /// observation to record; a wait; or a failure when GitLab will not let an approver approve.
    /// </summary>
    public async Task<StepResult?> RestoreAsync(GitLabMergeRequest mr, MergeRequestWorkflow s, string head, DateTimeOffset now, CancellationToken ct)
    {
        var reset = s.ApprovalReset is { } seen && seen.Rebase == s.Rebases ? seen : null;
        if (reset is null or { Outcome: ApprovalResetOutcome.Waiting })
        {
            var wait = (int)Math.Ceiling(options.Value.Workflow.ApprovalResetWait.TotalSeconds);
            var observed = new ObserveApprovalReset(head, [.. (await ApproversAsync(mr, ct)).Order()], wait, now);
            return WorkflowDecider.Decide(observed, s).Events.Count > 0 ? StepResult.Of(observed)
                : StepResult.Waiting($"waiting up to {wait} s for GitLab to remove the approvals our push resets, to give them again");
        }
        // Approving again is looked up first: a repeat after a crash finds them approved (GitLab answers a second approval with 401).
        foreach (var id in reset.Reapprove)
        {
            try
            {
                await sudo.ApproveAsAsync(mr.TargetProjectId, mr.Iid, head, id, ct);
            }
            catch (GitLabException e) when (e.Status is 401 or 403)
            {
                // GitLab's answer to a second approval by the same user, and to one it does not let that user give.
                if (!(await ApproversAsync(mr, ct)).Contains(id))
                    return StepResult.Of(new Fail($"GitLab did not let user {id} approve again after my push ({e.Status}: {e.GitLabMessage}); " +
                        "the approvals this project requires are gone: ask the approvers to approve again", now));
            }
        }
        return null;
    }

    private Task<HashSet<long>> ApproversAsync(GitLabMergeRequest mr, CancellationToken ct) => ApproversAsync(mr.TargetProjectId, mr.Iid, ct);

    private async Task<HashSet<long>> ApproversAsync(long project, long iid, CancellationToken ct) =>
        [.. ((await gitlab.GetApprovalsAsync(project, iid, ct)).ApprovedBy ?? []).Select(a => a.User.Id)];
}
