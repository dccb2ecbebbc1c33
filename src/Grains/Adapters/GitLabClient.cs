using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Adapters;

/// <summary>A typed GitLab REST v4 client over HttpClient (base address <c>…/api/v4/</c>, token header set by the handler chain).</summary>
public sealed class GitLabClient(HttpClient http) : IGitLabClient
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static string E(string value) => Uri.EscapeDataString(value);

    public Task<GitLabProject> GetProjectAsync(string idOrPath, CancellationToken ct) => Get<GitLabProject>($"projects/{E(idOrPath)}", ct);

    public Task<GitLabCiLint> LintCiAsync(long project, string contentRef, CancellationToken ct) =>
        Get<GitLabCiLint>($"projects/{project}/ci/lint?content_ref={E(contentRef)}", ct);

    public Task<GitLabMergeRequest> GetMergeRequestAsync(long project, long iid, CancellationToken ct) =>
        Get<GitLabMergeRequest>($"projects/{project}/merge_requests/{iid}?include_rebase_in_progress=true", ct);

    public Task<GitLabApprovals> GetApprovalsAsync(long project, long iid, CancellationToken ct) =>
        Get<GitLabApprovals>($"projects/{project}/merge_requests/{iid}/approvals", ct);

    public async Task<GitLabProjectApprovals> GetProjectApprovalsAsync(long project, CancellationToken ct)
    {
        try
        {
            return await Get<GitLabProjectApprovals>($"projects/{project}/approvals", ct);
        }
        catch (GitLabException e) when (e.Status == 404 && e.GitLabMessage == "404 Not Found")
        {
            // GitLab Free has no project approval settings (the route is unknown: Grape's bare 404), so nothing removes
            // approvals on push. Any other 404 ("404 Project Not Found") is an error: read as "no", the bot would push
            // and lose approvals it was never told about.
            return new GitLabProjectApprovals();
        }
    }

    public async Task RebaseAsync(long project, long iid, bool skipCi, CancellationToken ct) =>
        await Send(HttpMethod.Put, $"projects/{project}/merge_requests/{iid}/rebase", new { skip_ci = skipCi }, ct);

    public async Task<GitLabMergeRequest> MergeAsync(long project, long iid, string sha, CancellationToken ct, string? mergeCommitMessage = null) =>
        (await Send(HttpMethod.Put, $"projects/{project}/merge_requests/{iid}/merge",
            mergeCommitMessage is null ? new { sha } : new { sha, merge_commit_message = mergeCommitMessage }, ct)).Deserialize<GitLabMergeRequest>(Json)!;

    public async Task<string?> GetRawFileAsync(long project, string path, string reference, CancellationToken ct)
    {
        using var response = await http.GetAsync($"projects/{project}/repository/files/{E(path)}/raw?ref={E(reference)}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await Ensure(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public async Task<GitLabChanges> ChangedPathsAsync(long project, string from, string to, CancellationToken ct)
    {
        if (from == to) return new([]);
        var compare = await Get<GitLabCompare>($"projects/{project}/repository/compare?from={E(from)}&to={E(to)}&straight=true", ct);
        return new([.. compare.Diffs.SelectMany(d => new[] { d.OldPath, d.NewPath }).Distinct()], !compare.CompareTimeout);
    }

    public async Task<string?> MergeBaseAsync(long project, string a, string b, CancellationToken ct)
    {
        using var response = await http.GetAsync($"projects/{project}/repository/merge_base?refs[]={E(a)}&refs[]={E(b)}", ct);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest) return null;
        await Ensure(response, ct);
        return (await response.Content.ReadFromJsonAsync<GitLabCommitRef>(Json, ct))!.Id;
    }

    public Task<IReadOnlyList<GitLabBranch>> ListBranchesAsync(long project, CancellationToken ct) =>
        GetAll<GitLabBranch>($"projects/{project}/repository/branches", ct);

    public async Task<string?> BranchHeadAsync(long project, string branch, CancellationToken ct) =>
        (await GetBranchAsync(project, branch, ct))?.Commit.Id;

    public Task<GitLabBranch?> GetBranchAsync(long project, string branch, CancellationToken ct) =>
        GetOrNull<GitLabBranch>($"projects/{project}/repository/branches/{E(branch)}", ct);

    public Task<GitLabMember?> GetMemberAsync(long project, long userId, CancellationToken ct) =>
        GetOrNull<GitLabMember>($"projects/{project}/members/all/{userId}", ct);

    public async Task<GitLabPipeline> CreatePipelineAsync(long project, string reference, IReadOnlyDictionary<string, string> variables, CancellationToken ct) =>
        (await Send(HttpMethod.Post, $"projects/{project}/pipeline", new
        {
            @ref = reference,
            variables = variables.Select(v => new { key = v.Key, value = v.Value, variable_type = "env_var" }).ToArray(),
        }, ct)).Deserialize<GitLabPipeline>(Json)!;

    public Task<GitLabPipeline> GetPipelineAsync(long project, long pipeline, CancellationToken ct) =>
        Get<GitLabPipeline>($"projects/{project}/pipelines/{pipeline}", ct);

    public Task<IReadOnlyList<GitLabPipeline>> ListPipelinesAsync(long project, string reference, string sha, CancellationToken ct) =>
        Get<IReadOnlyList<GitLabPipeline>>($"projects/{project}/pipelines?ref={E(reference)}&sha={E(sha)}&per_page=100", ct);

    public Task<IReadOnlyList<GitLabVariable>> GetPipelineVariablesAsync(long project, long pipeline, CancellationToken ct) =>
        Get<IReadOnlyList<GitLabVariable>>($"projects/{project}/pipelines/{pipeline}/variables", ct);

    public async Task CancelPipelineAsync(long project, long pipeline, CancellationToken ct) =>
        await Send(HttpMethod.Post, $"projects/{project}/pipelines/{pipeline}/cancel", null, ct);

    public async Task<GitLabPipeline> CreateMergeRequestPipelineAsync(long project, long iid, CancellationToken ct) =>
        (await Send(HttpMethod.Post, $"projects/{project}/merge_requests/{iid}/pipelines", null, ct)).Deserialize<GitLabPipeline>(Json)!;

    public Task<IReadOnlyList<GitLabPipeline>> ListMergeRequestPipelinesAsync(long project, long iid, CancellationToken ct) =>
        GetAll<GitLabPipeline>($"projects/{project}/merge_requests/{iid}/pipelines", ct);

    public Task<IReadOnlyList<GitLabDiffVersion>> ListDiffVersionsAsync(long project, long iid, CancellationToken ct) =>
        Get<IReadOnlyList<GitLabDiffVersion>>($"projects/{project}/merge_requests/{iid}/versions?per_page=20", ct);

    public Task<IReadOnlyList<GitLabPipelineJob>> ListPipelineBridgesAsync(long project, long pipeline, CancellationToken ct) =>
        GetAll<GitLabPipelineJob>($"projects/{project}/pipelines/{pipeline}/bridges", ct);

    public Task<IReadOnlyList<GitLabPipelineJob>> ListPipelineJobsAsync(long project, long pipeline, CancellationToken ct) =>
        GetAll<GitLabPipelineJob>($"projects/{project}/pipelines/{pipeline}/jobs?include_retried=true", ct);

    public async Task<string> GetJobTraceAsync(long project, long job, CancellationToken ct)
    {
        using var response = await http.GetAsync($"projects/{project}/jobs/{job}/trace", ct);
        await Ensure(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public async Task<IReadOnlyList<string>> ListRegistryRepositoriesAsync(long project, CancellationToken ct) =>
        [.. (await GetAll<GitLabRegistryRepository>($"projects/{project}/registry/repositories", ct)).Select(r => r.Path)];

    public async Task<bool> DeleteRegistryTagAsync(long project, string repositoryPath, string tag, CancellationToken ct)
    {
        var repositories = await GetAll<GitLabRegistryRepository>($"projects/{project}/registry/repositories", ct);
        if (repositories.FirstOrDefault(r => string.Equals(r.Path, repositoryPath, StringComparison.OrdinalIgnoreCase)) is not { } repository) return false;
        using var response = await http.DeleteAsync($"projects/{project}/registry/repositories/{repository.Id}/tags/{E(tag)}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await Ensure(response, ct);
        return true;
    }

    public async Task<GitLabJob?> GetJobAsync(long project, long job, CancellationToken ct)
    {
        using var response = await http.GetAsync($"projects/{project}/jobs/{job}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await Ensure(response, ct);
        return await response.Content.ReadFromJsonAsync<GitLabJob>(Json, ct);
    }

    public async Task<GitLabNote> PostNoteAsync(long project, long iid, string body, CancellationToken ct) =>
        (await Send(HttpMethod.Post, $"projects/{project}/merge_requests/{iid}/notes", new { body }, ct)).Deserialize<GitLabNote>(Json)!;

    public Task<IReadOnlyList<GitLabNote>> ListNotesAsync(long project, long iid, CancellationToken ct) =>
        GetAll<GitLabNote>($"projects/{project}/merge_requests/{iid}/notes?sort=asc&order_by=created_at", ct);

    public Task<IReadOnlyList<GitLabLabelEvent>> ListLabelEventsAsync(long project, long iid, CancellationToken ct) =>
        GetAll<GitLabLabelEvent>($"projects/{project}/merge_requests/{iid}/resource_label_events", ct);

    public Task<IReadOnlyList<GitLabProtectedBranch>> ListProtectedBranchesAsync(long project, CancellationToken ct) =>
        GetAll<GitLabProtectedBranch>($"projects/{project}/protected_branches", ct);

    public async Task<GitLabUser?> FindUserAsync(string username, CancellationToken ct) =>
        (await Get<IReadOnlyList<GitLabUser>>($"users?username={E(username)}", ct))
            .FirstOrDefault(u => string.Equals(u.Username, username, StringComparison.OrdinalIgnoreCase));

    public async Task RemoveLabelAsync(long project, long iid, string label, CancellationToken ct) =>
        await Send(HttpMethod.Put, $"projects/{project}/merge_requests/{iid}", new { remove_labels = label }, ct);

    public async Task AssignAsync(long project, long iid, IReadOnlyList<long> userIds, CancellationToken ct) =>
        await Send(HttpMethod.Put, $"projects/{project}/merge_requests/{iid}", new { assignee_ids = userIds }, ct);

    private async Task<T?> GetOrNull<T>(string path, CancellationToken ct) where T : class
    {
        using var response = await http.GetAsync(path, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await Ensure(response, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct);
    }

    public Task<IReadOnlyList<GitLabMergeRequest>> ListOpenMergeRequestsAsync(long project, string? assigneeUsername, string? label, CancellationToken ct) =>
        GetAll<GitLabMergeRequest>($"projects/{project}/merge_requests?state=opened&order_by=created_at&sort=asc" +
            (assigneeUsername is null ? "" : $"&assignee_username={E(assigneeUsername)}") + (label is null ? "" : $"&labels={E(label)}"), ct);

    /// <summary>
    /// Every page of a list (100 a page). Past 50 pages it throws rather than answer with part of the list: a rule or
    /// note cut off could change who is allowed to merge.
    /// </summary>
    private async Task<IReadOnlyList<T>> GetAll<T>(string path, CancellationToken ct)
    {
        var all = new List<T>();
        var separator = path.Contains('?') ? '&' : '?';
        for (var page = 1; page <= 50; page++)
        {
            var batch = await Get<IReadOnlyList<T>>($"{path}{separator}per_page=100&page={page}", ct);
            all.AddRange(batch);
            if (batch.Count < 100) return all;
        }
        throw new InvalidOperationException($"{path} has more than 5000 entries; refusing to judge on part of them");
    }

    private async Task<T> Get<T>(string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        await Ensure(response, ct);
        return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
    }

    private async Task<JsonNode> Send(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body, options: Json) };
        using var response = await http.SendAsync(request, ct);
        await Ensure(response, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    internal static async Task Ensure(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var text = await response.Content.ReadAsStringAsync(ct);
        string message;
        try
        {
            var node = JsonNode.Parse(text);
            message = node?["message"]?.ToJsonString().Trim('"') ?? node?["error"]?.ToString() ?? text;
        }
        catch (JsonException)
        {
            message = text;
        }
        throw new GitLabException((int)response.StatusCode, message, response.RequestMessage?.RequestUri?.AbsolutePath ?? "");
    }
}
