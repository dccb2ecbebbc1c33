using Orchestrator.Adapters;
using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>
/// Reads what GitLab says about the person behind a request, fresh before every effect done with the bot's rights
/// (never cached: a permission revoked while a build runs must stop the merge). The decider judges it.
/// </summary>
public sealed class PermissionObserver(IGitLabClient gitlab)
{
    public async Task<PermissionObservation?> ObserveAsync(Requester? requester, long project, string targetBranch, CancellationToken ct)
    {
        if (requester is null || !requester.NamesPerson) return null;
        var userId = requester.UserId;
        if (userId is null && requester.Username is { } username) userId = (await gitlab.FindUserAsync(username, ct))?.Id;
        // Every rule, not a lookup by name: wildcard rules (release/*) are only found by matching the whole list.
        var rules = (await gitlab.ListProtectedBranchesAsync(project, ct))
            .Select(r => new ProtectedBranchRule(r.Name, [.. (r.MergeAccessLevels ?? []).Select(Grant)]))
            .ToList();
        // GitLab's own verdict on the branch, so a rule the list left out (group-level rules, a capped list) is noticed.
        var branch = await gitlab.GetBranchAsync(project, targetBranch, ct);
        var member = userId is { } id ? await gitlab.GetMemberAsync(project, id, ct) : null;
        return new PermissionObservation(targetBranch, rules, userId, member?.AccessLevel ?? 0,
            member is null ? "active" : member.State, member?.MembershipState, member?.ExpiresAt, branch?.Protected);
    }

    /// <summary>Kinds of grant the rule cannot judge from a member lookup are kept, named, and grant nothing.</summary>
    private static AccessGrant Grant(GitLabAccessLevel a) =>
        a.MemberRoleId is { } role ? new AccessGrant(a.AccessLevel, OtherKind: $"custom role {role}")
        : a.DeployKeyId is { } key ? new AccessGrant(a.AccessLevel, OtherKind: $"deploy key {key}")
        : new AccessGrant(a.AccessLevel, a.UserId, a.GroupId);
}
