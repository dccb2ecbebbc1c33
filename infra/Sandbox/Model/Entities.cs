using System.Collections.Concurrent;

namespace Sandbox.Model;

// The sandbox's state. Mutable on purpose: a project's state changes under its fork network's lock (SandboxStore.LockAsync);
// memberships are concurrent dictionaries because any project's request reads a group's or another project's roles.

public static class AccessLevel
{
    public const int None = 0, Guest = 10, Reporter = 20, Developer = 30, Maintainer = 40, Owner = 50;
}

public sealed class User
{
    public required long Id { get; init; }
    public required string Username { get; init; }
    public required string Name { get; set; }
    public required string Email { get; set; }
    public bool IsAdmin { get; set; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string State { get; set; } = "active";
}

public sealed class PersonalAccessToken
{
    public required long Id { get; init; }
    public required string Value { get; init; }
    public required long UserId { get; init; }
    public required string Name { get; init; }
    public required IReadOnlyList<string> Scopes { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateOnly? ExpiresAt { get; init; }
}

public sealed class Group
{
    public required long Id { get; init; }
    public required string Name { get; init; }
    public required string Path { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public ConcurrentDictionary<long, int> Members { get; } = new();
    public ConcurrentDictionary<long, MemberOrigin> MemberOrigins { get; } = new();
}

/// <summary>When a membership began and who granted it (null: it came with creating the project or group).</summary>
public sealed record MemberOrigin(DateTimeOffset CreatedAt, long? CreatedById);

public sealed class Project
{
    public required long Id { get; init; }
    public required string Name { get; set; }
    public required string Path { get; init; }
    public required string NamespacePath { get; init; }
    public required long NamespaceId { get; init; }
    public required string NamespaceKind { get; init; }
    public required string RepoPath { get; init; }
    public required long CreatorId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string Description { get; set; } = "";
    public string DefaultBranch { get; set; } = "main";
    public string Visibility { get; set; } = "private";
    /// <summary><c>merge</c>, <c>rebase_merge</c> (semi-linear) or <c>ff</c>.</summary>
    public string MergeMethod { get; set; } = "merge";
    /// <summary>GitLab's <c>squash_option</c>: <c>never</c>, <c>always</c>, <c>default_on</c> or <c>default_off</c> (the default).</summary>
    public string SquashOption { get; set; } = "default_off";

    /// <summary>GitLab's <c>MergeRequest#squash_on_merge?</c>: the project's never or always wins over the MR's own choice.</summary>
    public bool SquashesOnMerge(bool mergeRequestSquash) => SquashOption switch
    {
        "always" => true,
        "never" => false,
        _ => mergeRequestSquash,
    };
    public int ApprovalsRequired { get; set; }
    /// <summary>GitLab's "Remove all approvals when commits are added to the source branch".</summary>
    public bool ResetApprovalsOnPush { get; set; }
    public bool OnlyAllowMergeIfAllDiscussionsAreResolved { get; set; }
    public long? ForkedFromId { get; init; }
    /// <summary>
    /// GitLab's <c>ci_allow_fork_pipelines_to_run_in_parent_project</c> (on by default): whether a member may run a
    /// fork merge request's pipeline here, with this project's CI resources and registry rights.
    /// </summary>
    public bool CiAllowForkPipelinesToRunInParentProject { get; set; } = true;
    public ConcurrentDictionary<long, int> Members { get; } = new();
    public ConcurrentDictionary<long, MemberOrigin> MemberOrigins { get; } = new();
    public List<ProtectedBranch> ProtectedBranches { get; } = [];
    public Dictionary<string, Label> Labels { get; } = [];
    public long NextMergeRequestIid { get; set; } = 1;
    public DateTimeOffset LastActivityAt { get; set; }

    public string FullPath => $"{NamespacePath}/{Path}";

    public IEnumerable<ProtectedBranch> ProtectionsOf(string branch) => ProtectedBranches.Where(p => p.Matches(branch));

    public bool IsProtected(string branch) => ProtectionsOf(branch).Any();
}

public sealed class MergeRequest
{
    public required long Id { get; init; }
    public required long Iid { get; init; }
    public required long TargetProjectId { get; init; }
    public required long SourceProjectId { get; init; }
    public required string SourceBranch { get; init; }
    public required string TargetBranch { get; set; }
    public required string Title { get; set; }
    public string Description { get; set; } = "";
    public required long AuthorId { get; init; }
    public List<long> AssigneeIds { get; set; } = [];
    public List<long> ReviewerIds { get; set; } = [];
    public List<string> Labels { get; set; } = [];
    public string State { get; set; } = "opened";
    public bool AllowCollaboration { get; set; }
    public bool? ShouldRemoveSourceBranch { get; set; }
    public bool ForceRemoveSourceBranch { get; set; }
    public bool Squash { get; set; }
    public bool DiscussionLocked { get; set; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? MergedAt { get; set; }
    public long? MergedById { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
    public long? ClosedById { get; set; }
    public string? MergeCommitSha { get; set; }
    public string? SquashCommitSha { get; set; }
    /// <summary>The source HEAD when merged; GitLab keeps reporting it after the branch is gone.</summary>
    public string? MergedSha { get; set; }
    /// <summary>Where <c>refs/merge-requests/:iid/head</c> was last set in the target.</summary>
    public string? HeadRefSha { get; set; }
    /// <summary>
    /// GitLab's merge request diffs (its <c>versions</c>), oldest first: one when the MR opens and one for every push that
    /// moves its source branch (GitLab's RefreshService), its own rebase's included.
    /// </summary>
    public List<DiffVersion> Versions { get; } = [];
    public bool RebaseInProgress { get; set; }
    /// <summary>The head GitLab's own rebase pushed last: a push of it removes no approvals (GitLab's <c>rebase_commit_sha</c>).</summary>
    public string? RebaseCommitSha { get; set; }
    public string? MergeError { get; set; }
    /// <summary>Mergeability is being recomputed until then, as GitLab does asynchronously after a push.</summary>
    public DateTimeOffset CheckingUntil { get; set; }
    public HashSet<long> ApprovedBy { get; } = [];
    public List<Discussion> Discussions { get; } = [];
    public List<LabelEvent> LabelEvents { get; } = [];

    public bool IsDraft => DraftTitle.IsDraft(Title);
    public IEnumerable<Note> Notes => Discussions.SelectMany(d => d.Notes);
}

public sealed class Discussion
{
    public required string Id { get; init; }
    public required bool IndividualNote { get; init; }
    public List<Note> Notes { get; } = [];
}

public sealed class Note
{
    public required long Id { get; init; }
    public required string Body { get; set; }
    public required long AuthorId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public bool System { get; init; }
    public bool Resolvable { get; init; }
    public bool Resolved { get; set; }
    public long? ResolvedById { get; set; }
    public DateTimeOffset? ResolvedAt { get; set; }
}

/// <summary>GitLab marks drafts by a title prefix: "Draft:", "[Draft]", "(Draft)" (and the old "WIP:").</summary>
public static class DraftTitle
{
    private static readonly System.Text.RegularExpressions.Regex Prefix =
        new(@"^\s*(\[draft\]|\(draft\)|draft:|draft\s*-|\[wip\]|wip:)\s*", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    public static bool IsDraft(string title) => Prefix.IsMatch(title);

    public static string Strip(string title) => Prefix.Replace(title, "");

    public static string Mark(string title) => IsDraft(title) ? title : $"Draft: {title}";
}

/// <summary>One merge request diff version: the source head of one push, the target head it was compared with, and their merge base.</summary>
public sealed record DiffVersion(long Id, string HeadCommitSha, string? BaseCommitSha, string? StartCommitSha, DateTimeOffset CreatedAt, int? RealSize);
