using System.Text.RegularExpressions;

namespace Orchestrator.Domain;

/// <summary>One entry of a protected branch's <c>merge_access_levels</c>: a role (by minimum level), a user, or a group.</summary>
/// <remarks><paramref name="OtherKind"/> names a grant this rule cannot judge (a custom role, a deploy key): it grants nothing.</remarks>
[GenerateSerializer, Alias("AccessGrant")]
public sealed record AccessGrant(
    [property: Id(0)] int? AccessLevel,
    [property: Id(1)] long? UserId = null,
    [property: Id(2)] long? GroupId = null,
    [property: Id(3)] string? OtherKind = null);

/// <summary>A protected-branch rule as GitLab lists it: an exact name or a wildcard pattern (<c>release/*</c>).</summary>
/// <remarks>
/// <paramref name="PushAccess"/> and <paramref name="AllowForcePush"/> (<c>push_access_levels</c>, <c>allow_force_push</c>)
/// judge a rewrite of the source branch; null where they were not recorded, which grants no push.
/// </remarks>
[GenerateSerializer, Alias("ProtectedBranchRule")]
public sealed record ProtectedBranchRule(
    [property: Id(0)] string Name,
    [property: Id(1)] IReadOnlyList<AccessGrant> MergeAccess,
    [property: Id(2)] IReadOnlyList<AccessGrant>? PushAccess = null,
    [property: Id(3)] bool? AllowForcePush = null);

/// <summary>
/// The merge request's source branch, which a rebase (GitLab's or our git's) or a train's push rewrites with the bot's
/// rights: its name, whether it lives in a fork, and whether GitLab itself calls it protected (its branch API, which
/// anyone who can read the code may call; a fork's rule list needs rights in the fork the bot need not have, and is not
/// read). In the target project the observation's own rules judge it. For a fork, <paramref name="AllowCollaboration"/>
/// is the merge request's <c>allow_collaboration</c> as GitLab's API shows it (its <c>MergeRequest#allow_collaboration</c>:
/// <c>allow_maintainer_to_push</c> set by someone who may push to the fork, both projects not private, the branch not
/// protected in the fork); null where it was not read (same project, or an observation made before it was).
/// </summary>
[GenerateSerializer, Alias("SourceBranchObservation")]
public sealed record SourceBranchObservation(
    [property: Id(0)] string Branch,
    [property: Id(1)] bool InFork,
    [property: Id(2)] bool? Protected = null,
    [property: Id(3)] bool? AllowCollaboration = null);

/// <summary>
/// What GitLab said about the actor and the target branch, read just before a check: every protected-branch rule of
/// the project (matched here, wildcards included), whether GitLab itself calls the branch protected, the actor's
/// resolved id, effective access level (0: not a member), account state, membership state and expiry; before the
/// bot may rewrite the source branch (the request and each rebase), that branch too (<see cref="Source"/>; null in
/// observations made before it was read, and at the checkpoints that push nothing to it).
/// </summary>
[GenerateSerializer, Alias("PermissionObservation")]
public sealed record PermissionObservation(
    [property: Id(0)] string TargetBranch,
    [property: Id(1)] IReadOnlyList<ProtectedBranchRule> Rules,
    [property: Id(2)] long? UserId,
    [property: Id(3)] int AccessLevel,
    [property: Id(4)] string? UserState = "active",
    [property: Id(5)] string? MembershipState = null,
    [property: Id(6)] DateOnly? MembershipExpiresAt = null,
    [property: Id(7)] bool? BranchProtected = null,
    [property: Id(8)] SourceBranchObservation? Source = null);

/// <summary>Before which effect done with the bot's rights the actor's permission was checked.</summary>
[GenerateSerializer, Alias("PermissionCheckpoint")]
public enum PermissionCheckpoint
{
    Request = 0,
    Rebase = 1,
    Pipeline = 2,
    Merge = 3,
    Promote = 4,
}

/// <summary>Whether the person may have the bot do it, why, and (where the reason calls for more than "ask someone who may merge") what they can do instead.</summary>
[GenerateSerializer, Alias("PermissionVerdict")]
public sealed record PermissionVerdict([property: Id(0)] bool Allowed, [property: Id(1)] string Reason, [property: Id(2)] string? Advice = null);

/// <summary>
/// Whether the person behind a trigger may merge into the target branch, as GitLab itself decides it: a branch matched
/// by any protected-branch rule may be merged by whoever any matching rule's merge access grants (the most permissive
/// rule wins, as in GitLab); an unprotected branch by a Developer or more. Groups and the Admin level cannot be
/// resolved from a member lookup, so they grant nothing here (fail closed).
/// </summary>
public static class MergePermission
{
    public const int Developer = 30, Maintainer = 40, Owner = 50;

    /// <summary>
    /// GitLab lets no blocked or deactivated account use git, and grants nothing to a membership not yet approved or
    /// expired: why <paramref name="who"/> stands outside, or null when the account and membership are in good standing.
    /// </summary>
    public static string? Standing(string who, string? userState, string? membershipState, DateOnly? expiresAt, DateTimeOffset at) =>
        userState is not "active" ? $"the GitLab account of {who} is {userState ?? "in an unknown state"}"
        : membershipState is "awaiting" ? $"the membership of {who} awaits approval"
        : expiresAt is { } expires && expires < DateOnly.FromDateTime(at.UtcDateTime) ? $"the membership of {who} expired on {expires:yyyy-MM-dd}"
        : null;

    public static PermissionVerdict Evaluate(Requester? requester, PermissionObservation? seen, IReadOnlyList<string> allowedCommanders, DateTimeOffset at)
    {
        if (requester is null)
            return No("this request was recorded without the person behind it; ask again");
        if (!requester.NamesPerson)
            return new(true, "an API token acting on its own scope and projects");
        if (requester.Username is null && requester.UserId is null)
            return No("GitLab's records name no one behind this request");
        if (seen is null || seen.UserId is null)
            return No($"GitLab knows no user {requester.Display}");
        if (requester.UserId is { } id && id != seen.UserId)
            return No($"{requester.Display} is user {id}, but GitLab resolved user {seen.UserId}");
        if (Standing(requester.Display, seen.UserState, seen.MembershipState, seen.MembershipExpiresAt, at) is { } standing)
            return No(standing);
        var merge = MayMerge(seen);
        if (!merge.Allowed) return merge;
        if (seen.Source is not null && MayRewriteSource(seen) is { Allowed: false } rewrite) return rewrite;
        if (requester.Trigger == TriggerKind.Note && !MayCommand(requester.Username, seen.AccessLevel, allowedCommanders))
            return No(allowedCommanders.Count == 0
                ? "this project takes no merge commands by note"
                : $"merge commands by note are limited to {string.Join(", ", allowedCommanders)} in this project") with { Advice = Outcomes.CommandAdvice };
        return merge;
    }

    /// <summary>The rule GitLab applies to a merge into <see cref="PermissionObservation.TargetBranch"/>.</summary>
    public static PermissionVerdict MayMerge(PermissionObservation seen)
    {
        var matching = seen.Rules.Where(r => Matches(r.Name, seen.TargetBranch)).ToList();
        var level = seen.AccessLevel;
        if (matching.Count == 0 && seen.BranchProtected == true)
            return No($"GitLab says {seen.TargetBranch} is protected, but none of the {seen.Rules.Count} rules it listed matches it");
        if (matching.Count == 0)
            return level >= Developer
                ? new(true, $"{seen.TargetBranch} is not protected and the requester is {Role(level)}")
                : No($"only Developers and above may merge into the unprotected branch {seen.TargetBranch}, and the requester is {Role(level)}");
        if (matching.SelectMany(r => r.MergeAccess.Where(g => Grants(g, seen)).Select(g => (Rule: r, Grant: g))).FirstOrDefault() is ({ } rule, { } grant))
            return new(true, grant.UserId is not null
                ? $"protected branch rule {rule.Name} lets this user merge"
                : $"protected branch rule {rule.Name} lets {RoleName(grant.AccessLevel!.Value)}s merge and the requester is {Role(level)}");
        return No($"{seen.TargetBranch} is protected ({string.Join("; ", matching.Select(Describe))}) and the requester is {Role(level)}");
    }

    /// <summary>
    /// Whether the requester could rewrite the source branch themselves, as the bot's rebase or push does with its own
    /// rights (GitLab's can_push_to_branch? and its force-push check): in the target project, an unprotected branch takes
    /// a Developer or more; a protected one needs a matching rule's push access and a matching rule that allows force
    /// push. A fork's branch is judged by GitLab's collaboration grant alone (Project#branch_allows_collaboration?: an open
    /// merge request from the branch with allow_collaboration on lets whoever may merge it into its target branch push
    /// there), never by the bot's own rights in the fork: the fork's branch must be unprotected and allow_collaboration on,
    /// and the requester must be one who may merge into the target (<see cref="MayMerge"/>). The requester's rights in the
    /// fork are not read: without collaboration, a fork member asking is refused too (fail closed).
    /// </summary>
    public static PermissionVerdict MayRewriteSource(PermissionObservation seen)
    {
        if (seen.Source is not { } source) return No("the source branch was not read") with { Advice = RewriteAdvice };
        var branch = source.Branch;
        var rewrites = "and the bot rewrites it (rebase, force push) with its own rights";
        if (source.InFork) return MayRewriteForkBranch(seen, source, rewrites);
        var rules = seen.Rules;
        var matching = rules.Where(r => Matches(r.Name, branch)).ToList();
        var level = seen.AccessLevel;
        if (matching.Count == 0 && source.Protected is not false)
            return No(source.Protected is true
                ? $"GitLab says the source branch {branch} is protected, but none of the {rules.Count} rules it listed matches it"
                : $"GitLab did not say whether the source branch {branch} is protected") with { Advice = RewriteAdvice };
        if (matching.Count == 0)
            return level >= Developer
                ? new(true, $"the source branch {branch} is not protected and the requester is {Role(level)}")
                : No($"only Developers and above may push to the source branch {branch}, the requester is {Role(level)}, {rewrites}") with { Advice = RewriteAdvice };
        var push = matching.Any(r => (r.PushAccess ?? []).Any(g => Grants(g, seen)));
        var force = matching.Any(r => r.AllowForcePush is true);
        var rule = string.Join("; ", matching.Select(r => Describe(r, r.PushAccess ?? [], "push") + (r.AllowForcePush is true ? ", force push allowed" : ", no force push")));
        return push && force
            ? new(true, $"the source branch {branch} is protected ({rule}) and the requester may force push to it")
            : No($"the source branch {branch} is protected ({rule}), the requester is {Role(level)} and may not " +
                (push ? "force push to it" : "push to it") + $", {rewrites}") with { Advice = RewriteAdvice };
    }

    /// <summary>A fork's branch, open to the requester only through GitLab's collaboration grant (see <see cref="MayRewriteSource"/>).</summary>
    private static PermissionVerdict MayRewriteForkBranch(PermissionObservation seen, SourceBranchObservation source, string rewrites)
    {
        var branch = source.Branch;
        if (source.Protected is not false)
            return No($"the source branch {branch} is {(source.Protected is true ? "protected in the fork" : "not known to be unprotected in the fork")}, " +
                $"where the bot cannot tell whether the requester may push, {rewrites}") with { Advice = RewriteAdvice };
        if (source.AllowCollaboration is not true)
            return No($"the fork's merge request {(source.AllowCollaboration is false ? "does not allow" : "was not seen to allow")} commits from " +
                $"members who can merge to the target branch (allow_collaboration), so GitLab opens the fork's branch {branch} to no one " +
                $"of the target project, {rewrites}") with { Advice = RewriteAdvice };
        return MayMerge(seen) is { Allowed: true }
            ? new(true, $"the fork's branch {branch} is not protected and its merge request allows collaboration, which lets whoever may merge it push to it")
            : No($"the fork's branch {branch} is open through collaboration only to those who may merge into {seen.TargetBranch}, {rewrites}") with { Advice = RewriteAdvice };
    }

    /// <summary>
    /// The checkpoints before which the bot may rewrite the source branch (the request, for GitLab's rebase or our git's
    /// push, and each rebase): there the source branch must have been read, or nothing shows the requester could rewrite it.
    /// </summary>
    public static bool RewritesSource(PermissionCheckpoint checkpoint) => checkpoint is PermissionCheckpoint.Request or PermissionCheckpoint.Rebase;

    /// <summary>
    /// <see cref="Evaluate"/> at a checkpoint: before a rewrite of the source branch, a person's observation without the
    /// source branch fails closed (the rule would have nothing to judge); elsewhere, and for an API token acting on its
    /// own authority, as <see cref="Evaluate"/> says.
    /// </summary>
    public static PermissionVerdict AtCheckpoint(PermissionCheckpoint checkpoint, PermissionVerdict verdict, Requester? requester, PermissionObservation? seen) =>
        verdict.Allowed && RewritesSource(checkpoint) && requester is { NamesPerson: true } && seen is { Source: null }
            ? No($"the source branch was not read before the {checkpoint.ToString().ToLowerInvariant()}, so nothing shows the requester could " +
                "rewrite it, and the bot rewrites it (rebase, force push) with its own rights") with { Advice = RewriteAdvice }
            : verdict;

    /// <summary>What someone who may not rewrite the source branch can do instead.</summary>
    public const string RewriteAdvice =
        "Ask someone who may push (and force push) to the source branch to ask me, or rebase it yourself and merge it by hand.";

    /// <summary>
    /// One grant of a rule, as GitLab honours it: a role up to Owner by minimum level, a user while a member of the
    /// project. Groups, the Admin level and the kinds a member lookup cannot judge grant nothing.
    /// </summary>
    private static bool Grants(AccessGrant grant, PermissionObservation seen) =>
        grant.OtherKind is null && (grant.UserId is { } user
            ? user == seen.UserId && seen.AccessLevel > 0
            : grant.GroupId is null && grant.AccessLevel is > 0 and <= Owner and var needed && seen.AccessLevel >= needed);

    /// <summary>GitLab's protected-ref matcher: an exact name, or a pattern whose <c>*</c> matches any characters, <c>/</c> included.</summary>
    public static bool Matches(string rule, string branch) =>
        rule.Contains('*')
            // Linear time, so the pure decider never times out (and replays the same answer).
            ? Regex.IsMatch(branch, "\\A" + string.Join(".*", rule.Split('*').Select(Regex.Escape)) + "\\z", RegexOptions.NonBacktracking)
            : rule == branch;

    /// <summary>A role as a sentence says it: "a Developer", "an Owner", "not a member".</summary>
    public static string Role(int level) => level <= 0 ? "not a member" : level >= Owner ? "an Owner" : $"a {RoleName(level)}";

    public static string RoleName(int level) => level switch
    {
        >= Owner => "Owner",
        >= Maintainer => "Maintainer",
        >= Developer => "Developer",
        >= 20 => "Reporter",
        >= 10 => "Guest",
        _ => "not a member",
    };

    /// <summary>Who may merge under a rule, as people read it.</summary>
    public static string Describe(ProtectedBranchRule rule) => Describe(rule, rule.MergeAccess, "merge");

    private static string Describe(ProtectedBranchRule rule, IReadOnlyList<AccessGrant> grants, string action)
    {
        var who = grants.Select(g => g switch
        {
            { OtherKind: { } other } => other,
            { UserId: not null } => "named users",
            { GroupId: not null } => "a group",
            { AccessLevel: 0 } => "no one",
            { AccessLevel: 60 } => "Admins",
            { AccessLevel: { } l } => $"{RoleName(l)}s",
            _ => "no one",
        }).DefaultIfEmpty("no one");
        return $"{rule.Name}: {string.Join(", ", who)} may {action}";
    }

    private static readonly Dictionary<string, int> Levels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["developer"] = Developer, ["maintainer"] = Maintainer, ["owner"] = Owner,
    };

    /// <summary><c>allowedCommanders</c> narrows who may command by note (usernames or minimum roles); it never widens.</summary>
    private static bool MayCommand(string? username, int level, IReadOnlyList<string> allowed) =>
        allowed.Any(a => Levels.TryGetValue(a, out var minimum) ? level >= minimum : string.Equals(a, username, StringComparison.OrdinalIgnoreCase));

    private static PermissionVerdict No(string reason) => new(false, reason);
}
