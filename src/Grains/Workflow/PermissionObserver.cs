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
            .Select(r => new ProtectedBranchRule(r.Name,
                [.. (r.MergeAccessLevels ?? []).Select(a => new AccessGrant(a.AccessLevel, a.UserId, a.GroupId))]))
            .ToList();
        var level = userId is { } id ? await gitlab.AccessLevelAsync(project, id, ct) : 0;
        return new PermissionObservation(targetBranch, rules, userId, level);
    }
}
