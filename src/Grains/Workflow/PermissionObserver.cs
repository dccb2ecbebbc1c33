using Orchestrator.Adapters;
using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>
/// Reads what GitLab says about the person behind a request, fresh before every effect done with the bot's rights
/// (never cached: a permission revoked while a build runs must stop the merge). The decider judges it.
/// </summary>
public sealed class PermissionObserver(IGitLabClient gitlab)
{
    /// <remarks><c>source</c>: the source branch (its project and name, and the merge request's <c>allow_collaboration</c> as
    /// GitLab showed it) where the effect may rewrite it, so the decider can judge whether the requester could have; null
    /// where nothing is pushed to it.</remarks>
    public async Task<PermissionObservation?> ObserveAsync(Requester? requester, long project, string targetBranch, CancellationToken ct,
        (long Project, string Branch, bool? AllowCollaboration)? source = null)
    {
        if (requester is null || !requester.NamesPerson) return null;
        var userId = requester.UserId;
        if (userId is null && requester.Username is { } username) userId = (await gitlab.FindUserAsync(username, ct))?.Id;
        // Every rule, not a lookup by name: wildcard rules (release/*) are only found by matching the whole list.
        var rules = await RulesAsync(project, ct);
        // GitLab's own verdict on the branch, so a rule the list left out (group-level rules, a capped list) is noticed.
        var branch = await gitlab.GetBranchAsync(project, targetBranch, ct);
        var member = userId is { } id ? await gitlab.GetMemberAsync(project, id, ct) : null;
        return new PermissionObservation(targetBranch, rules, userId, member?.AccessLevel ?? 0,
            member is null ? "active" : member.State, member?.MembershipState, member?.ExpiresAt, branch?.Protected,
            source is { } s ? await SourceAsync(project, s.Project, s.Branch, s.AllowCollaboration, ct) : null);
    }

    /// <summary>
    /// The source branch as GitLab shows it (in a fork, only whether it is protected, the bot need not be a member there,
    /// and whether its merge request opens it to the target's members; GitLab shows allow_collaboration only for forks).
    /// </summary>
    private async Task<SourceBranchObservation> SourceAsync(long target, long project, string branch, bool? allowCollaboration, CancellationToken ct) =>
        new(branch, project != target, (await gitlab.GetBranchAsync(project, branch, ct))?.Protected, project != target ? allowCollaboration : null);

    private async Task<List<ProtectedBranchRule>> RulesAsync(long project, CancellationToken ct) =>
        [.. (await gitlab.ListProtectedBranchesAsync(project, ct)).Select(r => new ProtectedBranchRule(r.Name,
            [.. (r.MergeAccessLevels ?? []).Select(Grant)], [.. (r.PushAccessLevels ?? []).Select(Grant)], r.AllowForcePush ?? false))];

    /// <summary>Kinds of grant the rule cannot judge from a member lookup are kept, named, and grant nothing.</summary>
    private static AccessGrant Grant(GitLabAccessLevel a) =>
        a.MemberRoleId is { } role ? new AccessGrant(a.AccessLevel, OtherKind: $"custom role {role}")
        : a.DeployKeyId is { } key ? new AccessGrant(a.AccessLevel, OtherKind: $"deploy key {key}")
        : new AccessGrant(a.AccessLevel, a.UserId, a.GroupId);
}
