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
    /// After our push of <paramref name="head"/>: approves as each allowed approver whose approval GitLab no longer lists.
    /// GitLab removes approvals after a push in the background (seconds later), and recent versions keep those whose patch
    /// id the push did not change; so while every approver is still listed, this waits up to
    /// <see cref="WorkflowSettings.ApprovalResetWait"/> for the removal before taking the approvals as kept.
    /// Null when done; a wait; or a failure when GitLab will not let an approver approve.
    /// </summary>
    public async Task<StepResult?> RestoreAsync(GitLabMergeRequest mr, ReapprovalChecked allowed, string head, StepMemo memo, DateTimeOffset now,
        CancellationToken ct)
    {
        var listed = await ApproversAsync(mr, ct);
        var missing = allowed.Reapprove.Where(id => !listed.Contains(id)).ToList();
        if (missing.Count == 0)
        {
            if (memo.ApprovalsWatched is not { } watched || (watched.Attempt, watched.Rebase) != (allowed.Attempt, allowed.Rebase))
                memo.ApprovalsWatched = watched = (allowed.Attempt, allowed.Rebase, now);
            var since = watched.Since;
            var wait = options.Value.Workflow.ApprovalResetWait;
            return now - since < wait
                ? StepResult.Waiting($"waiting up to {wait.TotalSeconds:0} s for GitLab to remove the approvals our push resets, to give them again")
                : null;
        }
        foreach (var id in missing)
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
