namespace Orchestrator.Adapters;

/// <summary>The GitLab REST v4 calls the merge workflow needs. I/O only: no decisions live here.</summary>
public interface IGitLabClient
{
    Task<GitLabProject> GetProjectAsync(string idOrPath, CancellationToken ct = default);
    /// <summary><c>GET /projects/:id/ci/lint?content_ref=</c>: the CI configuration at that commit, linted statically.</summary>
    Task<GitLabCiLint> LintCiAsync(long project, string contentRef, CancellationToken ct = default);
    Task<GitLabMergeRequest> GetMergeRequestAsync(long project, long iid, CancellationToken ct = default);
    Task<GitLabApprovals> GetApprovalsAsync(long project, long iid, CancellationToken ct = default);
    /// <summary>The project's approval settings (<c>GET /projects/:id/approvals</c>); whether a push removes every approval.</summary>
    Task<GitLabProjectApprovals> GetProjectApprovalsAsync(long project, CancellationToken ct = default);
    Task RebaseAsync(long project, long iid, bool skipCi, CancellationToken ct = default);
    /// <remarks>A merge commit message replaces GitLab's own where the project makes merge commits.</remarks>
    Task<GitLabMergeRequest> MergeAsync(long project, long iid, string sha, CancellationToken ct = default, string? mergeCommitMessage = null);
    Task<string?> GetRawFileAsync(long project, string path, string reference, CancellationToken ct = default);
    Task<GitLabChanges> ChangedPathsAsync(long project, string from, string to, CancellationToken ct = default);
    Task<string?> MergeBaseAsync(long project, string a, string b, CancellationToken ct = default);
    /// <summary>Every branch of the project (name, head, whether protected), all pages followed.</summary>
    Task<IReadOnlyList<GitLabBranch>> ListBranchesAsync(long project, CancellationToken ct = default);
    Task<string?> BranchHeadAsync(long project, string branch, CancellationToken ct = default);
    Task<GitLabPipeline> CreatePipelineAsync(long project, string reference, IReadOnlyDictionary<string, string> variables, CancellationToken ct = default);
    Task<GitLabPipeline> GetPipelineAsync(long project, long pipeline, CancellationToken ct = default);
    Task<IReadOnlyList<GitLabPipeline>> ListPipelinesAsync(long project, string reference, string sha, CancellationToken ct = default);
    Task<IReadOnlyList<GitLabVariable>> GetPipelineVariablesAsync(long project, long pipeline, CancellationToken ct = default);
    Task CancelPipelineAsync(long project, long pipeline, CancellationToken ct = default);
    /// <summary>
    /// A merge request pipeline (<c>POST …/merge_requests/:iid/pipelines</c>: no variables, the source head at that moment).
    /// GitLab runs a fork MR's in the target project only when the caller may and the project allows it, else in the fork:
    /// the answer's project says which.
    /// </summary>
    Task<GitLabPipeline> CreateMergeRequestPipelineAsync(long project, long iid, CancellationToken ct = default);
    Task<IReadOnlyList<GitLabPipeline>> ListMergeRequestPipelinesAsync(long project, long iid, CancellationToken ct = default);
    /// <summary>The merge request's diff versions, newest first, first page only (<c>GET …/merge_requests/:iid/versions</c>): one per push.</summary>
    Task<IReadOnlyList<GitLabDiffVersion>> ListDiffVersionsAsync(long project, long iid, CancellationToken ct = default);
    /// <summary>The pipeline's trigger jobs (<c>GET …/pipelines/:id/bridges</c>): each starts a downstream pipeline.</summary>
    Task<IReadOnlyList<GitLabPipelineJob>> ListPipelineBridgesAsync(long project, long pipeline, CancellationToken ct = default);
    Task<IReadOnlyList<GitLabPipelineJob>> ListPipelineJobsAsync(long project, long pipeline, CancellationToken ct = default);
    /// <summary>The raw job log (the runner's lines, ANSI and section markers included).</summary>
    Task<string> GetJobTraceAsync(long project, long job, CancellationToken ct = default);
    /// <summary>The path of every repository of the project's container registry (GitLab's registry repositories API); past its page bound it throws.</summary>
    Task<IReadOnlyList<string>> ListRegistryRepositoriesAsync(long project, CancellationToken ct = default);
    /// <summary>Deletes one tag of the project's registry repository <paramref name="repositoryPath"/>; false when it is not there.</summary>
    Task<bool> DeleteRegistryTagAsync(long project, string repositoryPath, string tag, CancellationToken ct = default);
    Task<GitLabJob?> GetJobAsync(long project, long job, CancellationToken ct = default);
    Task<GitLabNote> PostNoteAsync(long project, long iid, string body, CancellationToken ct = default);
    /// <summary>Every note of the merge request, oldest first, all pages followed.</summary>
    Task<IReadOnlyList<GitLabNote>> ListNotesAsync(long project, long iid, CancellationToken ct = default);
    /// <summary>Every label add/remove of the merge request, oldest first, all pages followed.</summary>
    Task<IReadOnlyList<GitLabLabelEvent>> ListLabelEventsAsync(long project, long iid, CancellationToken ct = default);
    /// <summary>Every protected-branch rule of the project (names may be wildcard patterns), all pages followed.</summary>
    Task<IReadOnlyList<GitLabProtectedBranch>> ListProtectedBranchesAsync(long project, CancellationToken ct = default);
    /// <summary>The user with that username, or null when GitLab knows none.</summary>
    Task<GitLabUser?> FindUserAsync(string username, CancellationToken ct = default);
    /// <summary>Removes a label from the merge request (a no-op in GitLab when it is not set).</summary>
    Task RemoveLabelAsync(long project, long iid, string label, CancellationToken ct = default);
    Task AssignAsync(long project, long iid, IReadOnlyList<long> userIds, CancellationToken ct = default);
    /// <summary>The user's membership of the project (inherited included), null when not a member (GitLab's 404).</summary>
    Task<GitLabMember?> GetMemberAsync(long project, long userId, CancellationToken ct = default);
    /// <summary>The branch (its head and whether GitLab calls it protected), null when it does not exist.</summary>
    Task<GitLabBranch?> GetBranchAsync(long project, string branch, CancellationToken ct = default);
    Task<IReadOnlyList<GitLabMergeRequest>> ListOpenMergeRequestsAsync(long project, string? assigneeUsername, string? label, CancellationToken ct = default);
}

public static class GitLabClientExtensions
{
    /// <summary>The head of the branch the merge request targets; GitLab's 404 (<see cref="GitLabException.TargetBranchGone"/>) when it was deleted.</summary>
    public static async Task<string> TargetHeadAsync(this IGitLabClient gitlab, GitLabMergeRequest mr, CancellationToken ct) =>
        await gitlab.BranchHeadAsync(mr.TargetProjectId, mr.TargetBranch, ct) ?? throw GitLabException.TargetBranchGone(mr.TargetProjectId, mr.TargetBranch);
}
