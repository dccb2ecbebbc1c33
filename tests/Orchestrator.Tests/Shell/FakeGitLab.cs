using Orchestrator.Adapters;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// An in-memory GitLab with one merge request, for the shell's own tests: what a step reads is set here, what it does
/// is recorded in <see cref="Calls"/>. Calls no test needs say so loudly rather than answer something made up.
/// </summary>
internal sealed class FakeGitLab : IGitLabClient
{
    public const long Project = 7, Iid = 3, Author = 100, Bot = 1;

    public GitLabMergeRequest Mr { get; set; } = new(900, Iid, Project, "opened", "A change", false, "feature", "main", Project, Project,
        RebasedSha, null, false, true, "can_be_merged", "mergeable", false, null, null, new GitLabUser(Author, "alice", "Alice"),
        [new GitLabUser(Bot, "marge-bot")], [], new GitLabDiffRefs(TargetSha, RebasedSha, TargetSha), WebUrl: "https://gitlab.example/g/p/-/merge_requests/3");

    public Dictionary<string, string> Heads { get; } = new() { ["main"] = TargetSha };
    public GitLabApprovals Approvals { get; set; } = new(0, 0, []);
    public Dictionary<long, GitLabPipeline> Pipelines { get; } = [];
    public List<GitLabNote> Notes { get; } = [];
    public List<string> Calls { get; } = [];
    public Func<GitLabMergeRequest>? OnMerge { get; set; }

    public Task<GitLabMergeRequest> GetMergeRequestAsync(long project, long iid, CancellationToken ct) => Task.FromResult(Mr);
    public Task<GitLabApprovals> GetApprovalsAsync(long project, long iid, CancellationToken ct) => Task.FromResult(Approvals);
    public GitLabProjectApprovals ProjectApprovals { get; set; } = new();
    public Task<GitLabProjectApprovals> GetProjectApprovalsAsync(long project, CancellationToken ct) => Task.FromResult(ProjectApprovals);
    public Task<string?> BranchHeadAsync(long project, string branch, CancellationToken ct) => Task.FromResult(Heads.GetValueOrDefault(branch));
    /// <summary>The project's <c>ci_allow_fork_pipelines_to_run_in_parent_project</c> as GitLab shows it (null: not shown).</summary>
    public bool? ForkPipelinesRun { get; set; }
    public Task<GitLabProject> GetProjectAsync(string idOrPath, CancellationToken ct) =>
        Task.FromResult(new GitLabProject(long.Parse(idOrPath), "g/p", CiAllowForkPipelinesToRunInParentProject: ForkPipelinesRun));

    public Task RebaseAsync(long project, long iid, bool skipCi, CancellationToken ct)
    {
        Calls.Add($"rebase skip_ci={skipCi}");
        return Task.CompletedTask;
    }

    public Task<GitLabMergeRequest> MergeAsync(long project, long iid, string sha, CancellationToken ct, string? mergeCommitMessage = null)
    {
        Calls.Add($"merge sha={sha}");
        return Task.FromResult(OnMerge?.Invoke() ?? Mr with { State = "merged", MergeCommitSha = "m3m3" });
    }

    public Task<GitLabPipeline> GetPipelineAsync(long project, long pipeline, CancellationToken ct) =>
        Pipelines.TryGetValue(pipeline, out var found) ? Task.FromResult(found) : throw new GitLabException(404, "404 Not found", $"/projects/{project}/pipelines/{pipeline}");
    public Task<IReadOnlyList<GitLabPipelineJob>> ListPipelineJobsAsync(long project, long pipeline, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GitLabPipelineJob>>([]);

    public Task CancelPipelineAsync(long project, long pipeline, CancellationToken ct)
    {
        Calls.Add($"cancel {pipeline}");
        Pipelines[pipeline] = Pipelines[pipeline] with { Status = "canceled" };
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<GitLabNote>> ListNotesAsync(long project, long iid, CancellationToken ct) => Task.FromResult<IReadOnlyList<GitLabNote>>([.. Notes]);

    public Task<GitLabNote> PostNoteAsync(long project, long iid, string body, CancellationToken ct)
    {
        var note = new GitLabNote(Notes.Count + 1, body, new GitLabUser(Bot, "marge-bot"));
        Notes.Add(note);
        Calls.Add("note");
        return Task.FromResult(note);
    }

    public Task AssignAsync(long project, long iid, IReadOnlyList<long> userIds, CancellationToken ct)
    {
        Calls.Add($"assign {string.Join(",", userIds)}");
        return Task.CompletedTask;
    }

    private static Task<T> Unneeded<T>(string what) => throw new NotSupportedException($"{what}: no shell test here needs it");
    public Task<GitLabCiLint> LintCiAsync(long project, string contentRef, CancellationToken ct) => Unneeded<GitLabCiLint>("ci lint");
    /// <summary>Files by (path, commit); a read of any other is unneeded.</summary>
    public Dictionary<(string Path, string Sha), string> Files { get; } = [];
    public Task<string?> GetRawFileAsync(long project, string path, string reference, CancellationToken ct) =>
        Files.TryGetValue((path, reference), out var file) ? Task.FromResult<string?>(file) : Unneeded<string?>("raw file");
    /// <summary>Paths each comparison changes, by (from, to); any other comparison is unneeded.</summary>
    public Dictionary<(string From, string To), GitLabChanges> Changes { get; } = [];
    public Task<GitLabChanges> ChangedPathsAsync(long project, string from, string to, CancellationToken ct) =>
        Changes.TryGetValue((from, to), out var changes) ? Task.FromResult(changes) : Unneeded<GitLabChanges>("compare");
    public Dictionary<(string A, string B), string?> MergeBases { get; } = [];
    public Task<string?> MergeBaseAsync(long project, string a, string b, CancellationToken ct) =>
        MergeBases.TryGetValue((a, b), out var found) ? Task.FromResult(found) : Unneeded<string?>("merge base");
    /// <summary>The project's branches, for the tests that list them (null: none does).</summary>
    public List<GitLabBranch>? Branches { get; set; }
    public Task<IReadOnlyList<GitLabBranch>> ListBranchesAsync(long project, CancellationToken ct) =>
        Branches is { } branches ? Task.FromResult<IReadOnlyList<GitLabBranch>>([.. branches]) : Unneeded<IReadOnlyList<GitLabBranch>>("branches");
    /// <summary>Each pipeline's variables, for the pipelines <see cref="ListPipelinesAsync"/> finds; created ones get theirs.</summary>
    public Dictionary<long, IReadOnlyList<GitLabVariable>> PipelineVariables { get; } = [];

    public Task<GitLabPipeline> CreatePipelineAsync(long project, string reference, IReadOnlyDictionary<string, string> variables, CancellationToken ct)
    {
        var id = Pipelines.Keys.DefaultIfEmpty(1000).Max() + 1;
        Pipelines[id] = new GitLabPipeline(id, project, Mr.Sha!, reference, "created", "api", new GitLabUser(Bot, "marge-bot"));
        PipelineVariables[id] = [.. variables.Select(v => new GitLabVariable(v.Key, v.Value))];
        Calls.Add($"create pipeline {id} on {reference}");
        return Task.FromResult(Pipelines[id]);
    }
    public Task<IReadOnlyList<GitLabPipeline>> ListPipelinesAsync(long project, string reference, string sha, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GitLabPipeline>>([.. Pipelines.Values.Where(p => p.Ref == reference && p.Sha == sha)]);
    public Task<IReadOnlyList<GitLabVariable>> GetPipelineVariablesAsync(long project, long pipeline, CancellationToken ct) =>
        Task.FromResult(PipelineVariables.GetValueOrDefault(pipeline) ?? []);
    public Task<GitLabPipeline> CreateMergeRequestPipelineAsync(long project, long iid, CancellationToken ct) => Unneeded<GitLabPipeline>("MR pipeline");
    /// <summary>The MR's diff versions' heads, newest first (null: not asked for by the test).</summary>
    public List<string>? VersionHeads { get; set; }
    public Task<IReadOnlyList<GitLabDiffVersion>> ListDiffVersionsAsync(long project, long iid, CancellationToken ct) =>
        VersionHeads is { } heads ? Task.FromResult<IReadOnlyList<GitLabDiffVersion>>([.. heads.Select((h, i) => new GitLabDiffVersion(100 - i, h))])
            : Unneeded<IReadOnlyList<GitLabDiffVersion>>("diff versions");
    public Task<IReadOnlyList<GitLabPipeline>> ListMergeRequestPipelinesAsync(long project, long iid, CancellationToken ct) =>
        Unneeded<IReadOnlyList<GitLabPipeline>>("MR pipelines");
    public Task<IReadOnlyList<GitLabPipelineJob>> ListPipelineBridgesAsync(long project, long pipeline, CancellationToken ct) =>
        Unneeded<IReadOnlyList<GitLabPipelineJob>>("bridges");
    public Task<string> GetJobTraceAsync(long project, long job, CancellationToken ct) => Unneeded<string>("trace");
    /// <summary>The registry's repositories, as GitLab lists them; null: no test expects the list read.</summary>
    public Func<IReadOnlyList<string>>? RegistryRepositories { get; set; }
    public Task<IReadOnlyList<string>> ListRegistryRepositoriesAsync(long project, CancellationToken ct) =>
        RegistryRepositories is { } list ? Task.FromResult(list()) : Unneeded<IReadOnlyList<string>>("registry repositories");
    /// <summary>Called back on each tag deletion (the registry's side of it); null: no test expects one.</summary>
    public Func<string, string, bool>? OnDeleteTag { get; set; }
    public Task<bool> DeleteRegistryTagAsync(long project, string repositoryPath, string tag, CancellationToken ct)
    {
        Calls.Add($"delete {repositoryPath}:{tag}");
        return OnDeleteTag is { } delete ? Task.FromResult(delete(repositoryPath, tag)) : Unneeded<bool>("tag deletion");
    }
    public Dictionary<long, GitLabJob?> Jobs { get; } = [];
    public Task<GitLabJob?> GetJobAsync(long project, long job, CancellationToken ct) =>
        Jobs.TryGetValue(job, out var found) ? Task.FromResult(found) : Unneeded<GitLabJob?>("job");
    public Task<IReadOnlyList<GitLabLabelEvent>> ListLabelEventsAsync(long project, long iid, CancellationToken ct) => Unneeded<IReadOnlyList<GitLabLabelEvent>>("label events");
    /// <summary>Each project's protected-branch rules; a project not listed is unneeded.</summary>
    public Dictionary<long, IReadOnlyList<GitLabProtectedBranch>> ProtectedBranches { get; } = [];
    public Task<IReadOnlyList<GitLabProtectedBranch>> ListProtectedBranchesAsync(long project, CancellationToken ct) =>
        ProtectedBranches.TryGetValue(project, out var rules) ? Task.FromResult(rules) : Unneeded<IReadOnlyList<GitLabProtectedBranch>>("protected branches");
    public Task<GitLabUser?> FindUserAsync(string username, CancellationToken ct) => Unneeded<GitLabUser?>("user");
    public Task RemoveLabelAsync(long project, long iid, string label, CancellationToken ct) => Unneeded<bool>("label");
    /// <summary>Members by user id (null: GitLab's 404, not a member); a lookup of anyone else is unneeded.</summary>
    public Dictionary<long, GitLabMember?> Members { get; } = [];
    public Task<GitLabMember?> GetMemberAsync(long project, long userId, CancellationToken ct) =>
        Members.TryGetValue(userId, out var member) ? Task.FromResult(member) : Unneeded<GitLabMember?>("member");
    /// <summary>Branches by project and name (null: GitLab's 404); any other is unneeded.</summary>
    public Dictionary<(long Project, string Branch), GitLabBranch?> BranchesByName { get; } = [];
    public Task<GitLabBranch?> GetBranchAsync(long project, string branch, CancellationToken ct) =>
        BranchesByName.TryGetValue((project, branch), out var found) ? Task.FromResult(found) : Unneeded<GitLabBranch?>("branch");
    public Task<IReadOnlyList<GitLabMergeRequest>> ListOpenMergeRequestsAsync(long project, string? assigneeUsername, string? label, CancellationToken ct) =>
        Unneeded<IReadOnlyList<GitLabMergeRequest>>("open MRs");
}
