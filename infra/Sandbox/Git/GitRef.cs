namespace Sandbox.Git;

/// <summary>Git's names for refs as receive-pack and GitLab's push payloads use them.</summary>
public static class GitRef
{
    /// <summary>The all-zero object name: the old value of a created ref, the new value of a deleted one.</summary>
    public static readonly string Blank = new('0', 40);

    public const string BranchPrefix = "refs/heads/";

    public static bool IsBlank(string? sha) => string.IsNullOrEmpty(sha) || sha.All(c => c == '0');

    /// <summary>The branch of <c>refs/heads/&lt;name&gt;</c>, or null for any other ref.</summary>
    public static string? BranchName(string refName) =>
        refName.StartsWith(BranchPrefix, StringComparison.Ordinal) ? refName[BranchPrefix.Length..] : null;
}
