using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Adapters;

namespace Orchestrator.Api.Policies;

/// <summary>GitLab's lint of a project's CI configuration at one commit: its <c>merged_yaml</c> has local includes folded in.</summary>
public sealed record CiLint(bool Valid, IReadOnlyList<string> Errors, string? MergedYaml);

/// <summary>
/// The two GitLab reads the suggestion needs beyond <see cref="IGitLabClient"/>: the project's default branch and the CI
/// lint. Built on the GitLab client's own HttpClient (same base address, bot token and retries), so the workflow's
/// adapter stays as it is. Failures throw <see cref="GitLabException"/>, as the adapter's do, for <c>GitLabLookup</c>.
/// </summary>
public sealed class GitLabCiLint(HttpClient http)
{
    /// <summary>The HttpClient the host registered for <see cref="IGitLabClient"/> (a typed client is named after its interface).</summary>
    public static GitLabCiLint From(IHttpClientFactory factory) => new(factory.CreateClient(nameof(IGitLabClient)));

    /// <summary>The project's default branch, null when it has none (an empty repository).</summary>
    public async Task<string?> DefaultBranchAsync(long project, CancellationToken ct) =>
        (await GetAsync($"projects/{project}", ct))["default_branch"]?.GetValue<string>();

    /// <summary><c>GET /projects/:id/ci/lint?content_ref=</c>: <c>.gitlab-ci.yml</c> at that commit, linted statically.</summary>
    public async Task<CiLint> LintAsync(long project, string contentRef, CancellationToken ct)
    {
        var lint = await GetAsync($"projects/{project}/ci/lint?content_ref={Uri.EscapeDataString(contentRef)}", ct);
        return new CiLint(
            lint["valid"]?.GetValue<bool>() == true,
            [.. (lint["errors"] as JsonArray ?? []).Select(e => e?.ToString() ?? "")],
            lint["merged_yaml"]?.GetValue<string>());
    }

    private async Task<JsonNode> GetAsync(string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new GitLabException((int)response.StatusCode, text, path);
        return JsonNode.Parse(text) ?? throw new GitLabException((int)HttpStatusCode.BadGateway, "empty answer", path);
    }
}
