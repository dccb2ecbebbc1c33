using System.Text.Json.Serialization;

namespace Orchestrator.Adapters;

// The few GitLab REST v4 shapes the workflow reads (snake_case on the wire), nothing more.

public sealed record GitLabUser(long Id, string Username, string? Name = null);

public sealed record GitLabDiffRefs(string? BaseSha, string? HeadSha, string? StartSha);

public sealed record GitLabMergeRequest(
    long Id,
    long Iid,
    long ProjectId,
    string State,
    string Title,
    bool Draft,
    string SourceBranch,
    string TargetBranch,
    long SourceProjectId,
    long TargetProjectId,
    string? Sha,
    string? MergeCommitSha,
    bool HasConflicts,
    bool BlockingDiscussionsResolved,
    string? MergeStatus,
    string? DetailedMergeStatus,
    bool? RebaseInProgress,
    string? MergeError,
    bool? AllowCollaboration,
    GitLabUser Author,
    IReadOnlyList<GitLabUser>? Assignees,
    IReadOnlyList<string>? Labels,
    GitLabDiffRefs? DiffRefs,
    DateTimeOffset? CreatedAt = null,
    GitLabUser? MergedBy = null,
    string? WebUrl = null,
    string? SquashCommitSha = null);

public sealed record GitLabApproval(GitLabUser User);

public sealed record GitLabProjectApprovals(bool ResetApprovalsOnPush = false);

public sealed record GitLabApprovals(int ApprovalsRequired, int ApprovalsLeft, IReadOnlyList<GitLabApproval>? ApprovedBy);

public sealed record GitLabPipeline(long Id, long ProjectId, string Sha, string Ref, string Status, string? Source, GitLabUser? User = null,
    DateTimeOffset? CreatedAt = null);

public sealed record GitLabVariable(string Key, string? Value);

/// <summary>One merge request diff version (GitLab makes one for every push to the source branch): its source head.</summary>
public sealed record GitLabDiffVersion(long Id, string HeadCommitSha, string? BaseCommitSha = null, string? StartCommitSha = null);

public sealed record GitLabJobPipeline(long Id, string? Sha);

public sealed record GitLabJobCommit(string Id);

public sealed record GitLabJob(long Id, string Name, string Status, GitLabJobPipeline Pipeline, GitLabJobCommit? Commit);

public sealed record GitLabPipelineJob(long Id, string Name, string Status);

public sealed record GitLabRegistryRepository(long Id, string Path);

public sealed record GitLabNote(long Id, string Body, GitLabUser Author, bool System = false, DateTimeOffset? CreatedAt = null);

public sealed record GitLabLabel(long Id, string Name);

/// <summary>A <c>resource_label_events</c> entry; <c>Label</c> is null when the label was deleted since.</summary>
public sealed record GitLabLabelEvent(long Id, GitLabUser? User, GitLabLabel? Label, string Action, DateTimeOffset? CreatedAt = null);

public sealed record GitLabAccessLevel(int? AccessLevel, long? UserId, long? GroupId, long? MemberRoleId = null, long? DeployKeyId = null);

public sealed record GitLabProtectedBranch(long Id, string Name, IReadOnlyList<GitLabAccessLevel>? MergeAccessLevels,
    IReadOnlyList<GitLabAccessLevel>? PushAccessLevels = null, bool? AllowForcePush = null);

public sealed record GitLabBranchCommit(string Id);

public sealed record GitLabBranch(string Name, GitLabBranchCommit Commit, bool? Protected = null);

public sealed record GitLabCommitRef(string Id);

public sealed record GitLabDiff(string OldPath, string NewPath);

/// <remarks><paramref name="CompareTimeout"/>: GitLab could not finish the comparison, so <paramref name="Diffs"/> are not all of it.</remarks>
public sealed record GitLabCompare(IReadOnlyList<GitLabDiff> Diffs, bool CompareTimeout = false);

/// <summary>The paths a comparison changed; <paramref name="Complete"/> false when GitLab says it did not finish it.</summary>
public sealed record GitLabChanges(IReadOnlyList<string> Paths, bool Complete = true);

/// <remarks><paramref name="CiAllowForkPipelinesToRunInParentProject"/>: shown by GitLab only to those who may administer the project.</remarks>
public sealed record GitLabProject(long Id, string PathWithNamespace, string? DefaultBranch = null, string? MergeMethod = null, string? WebUrl = null,
    bool? CiAllowForkPipelinesToRunInParentProject = null);

/// <summary>GitLab's lint of a project's CI configuration at one commit: its <c>merged_yaml</c> has local includes folded in.</summary>
public sealed record GitLabCiLint(bool Valid, IReadOnlyList<string>? Errors, string? MergedYaml);

public sealed record GitLabMember(long Id, string Username, int AccessLevel, string? State = null, string? MembershipState = null,
    DateOnly? ExpiresAt = null);

/// <summary>An answer other than success, with GitLab's own message (its <c>message</c> or <c>error</c>).</summary>
public sealed class GitLabException(int status, string message, string path) : Exception($"GitLab answered {status} to {path}: {message}")
{
    public int Status { get; } = status;
    public string GitLabMessage { get; } = message;

    /// <summary>
    /// The branch a merge request targets is not there (GitLab answered 404 for its head): a refusal no retry changes, so
    /// the attempt ends after a few, with this message, rather than failing at every poll until a deadline.
    /// </summary>
    public static GitLabException TargetBranchGone(long project, string branch) =>
        new(404, $"the target branch {branch} was deleted", $"/projects/{project}/repository/branches/{branch}");
}

