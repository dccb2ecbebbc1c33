using System.Text.RegularExpressions;

namespace Sandbox.Model;

/// <summary>
/// A protected-branch rule as GitLab keeps it: an exact branch name or a wildcard (<c>release/*</c>), with who may
/// push and who may merge. Several rules can match one branch; any of them granting an action is enough.
/// </summary>
public sealed class ProtectedBranch
{
    public required long Id { get; init; }
    public required string Name { get; init; }
    public List<BranchAccess> PushAccess { get; } = [];
    public List<BranchAccess> MergeAccess { get; } = [];
    public bool AllowForcePush { get; init; }

    public bool Matches(string branch) => BranchPattern.Matches(Name, branch);
}

/// <summary>One "allowed to push/merge" entry: a role (an access level) or, as on GitLab Premium, one user.</summary>
public sealed class BranchAccess
{
    public const int Admins = 60;

    public required long Id { get; init; }
    public int? AccessLevel { get; init; }
    public long? UserId { get; init; }

    /// <summary>GitLab's ProtectedRefAccess#check_access: "No one" grants nobody, "Admins" only admins,
    /// a user entry that user, a role anyone who may push code with at least that role.</summary>
    public bool Grants(User user, int effectiveLevel) => (AccessLevel, UserId) switch
    {
        (_, { } userId) => userId == user.Id,
        (Model.AccessLevel.None, _) => false,
        (Admins, _) => user.IsAdmin,
        ({ } level, _) => effectiveLevel >= Model.AccessLevel.Developer && effectiveLevel >= level,
        _ => false,
    };

    public static string Describe(int level) => level switch
    {
        Model.AccessLevel.Developer => "Developers + Maintainers",
        Model.AccessLevel.Maintainer => "Maintainers",
        Admins => "Instance admins",
        Model.AccessLevel.None => "No one",
        _ => level.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static bool IsAllowedLevel(long level) => level is Model.AccessLevel.None or Model.AccessLevel.Developer or Model.AccessLevel.Maintainer or Admins;
}

/// <summary>GitLab's ref matcher: a name with <c>*</c> is a wildcard whose star matches any characters, slashes included.</summary>
public static class BranchPattern
{
    public static bool IsWildcard(string pattern) => pattern.Contains('*');

    public static bool Matches(string pattern, string branch) =>
        IsWildcard(pattern)
            ? Regex.IsMatch(branch, @"\A" + string.Join(".*?", pattern.Split('*').Select(Regex.Escape)) + @"\z", RegexOptions.Singleline)
            : pattern == branch;
}
