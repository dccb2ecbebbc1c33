using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Orchestrator.Sandbox.Tests.Infrastructure;

/// <summary>Raw HTTP against the sandbox, for contract checks where the exact bytes GitLab would send matter.</summary>
public static class Api
{
    public static async Task<JsonNode> Send(this HttpClient client, HttpMethod method, string path, object? body = null,
        HttpStatusCode expect = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, path.StartsWith('/') ? new Uri(client.BaseAddress!, path) : new Uri(path, UriKind.Relative));
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expect, $"{method} {path}: expected {(int)expect}, got {(int)response.StatusCode}: {text}");
        if (expect == HttpStatusCode.NoContent) return new JsonObject();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(text)!;
    }

    public static Task<JsonNode> Get(this HttpClient c, string path, HttpStatusCode expect = HttpStatusCode.OK) => c.Send(HttpMethod.Get, path, null, expect);
    public static Task<JsonNode> Post(this HttpClient c, string path, object? body = null, HttpStatusCode expect = HttpStatusCode.Created) => c.Send(HttpMethod.Post, path, body, expect);
    public static Task<JsonNode> Put(this HttpClient c, string path, object? body = null, HttpStatusCode expect = HttpStatusCode.OK) => c.Send(HttpMethod.Put, path, body, expect);

    public static Task<JsonNode> Delete(this HttpClient c, string path, HttpStatusCode expect = HttpStatusCode.NoContent) => c.Send(HttpMethod.Delete, path, null, expect);

    /// <summary>One page of a list with GitLab's pagination headers (<c>x-total</c>, <c>x-next-page</c>, …).</summary>
    public static async Task<(JsonArray Items, IReadOnlyDictionary<string, string> Headers)> Page(this HttpClient c, string path)
    {
        using var response = await c.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}: {text}");
        var headers = response.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
        return (JsonNode.Parse(text)!.AsArray(), headers);
    }

    public static string Str(this JsonNode n, string key) => n[key]!.GetValue<string>();
    public static long Long(this JsonNode n, string key) => n[key]!.GetValue<long>();

    public static Task<JsonNode> WaitFor(this HttpClient c, string path, Func<JsonNode, bool> done, TimeSpan timeout) =>
        Eventually.Get(() => c.Get(path), done, $"{path} to reach the awaited state", timeout, every: TimeSpan.FromMilliseconds(50));
}

/// <summary>A small world: an upstream project, a fork, users with tokens, built through the API itself.</summary>
public sealed class World
{
    public required HttpClient Admin { get; init; }
    public required HttpClient Maintainer { get; init; }
    public required HttpClient Contributor { get; init; }
    public required HttpClient Stranger { get; init; }
    public required JsonNode Upstream { get; init; }
    public required JsonNode Fork { get; init; }
    public required string ContributorName { get; init; }
    public required string MaintainerName { get; init; }

    public required SandboxHost Host { get; init; }
    public required string Tag { get; init; }

    public static async Task<World> CreateAsync(SandboxHost host, string tag)
    {
        var admin = host.Client();
        var (maintainer, maintainerUser) = await NewUser(host, admin, "maint", tag);
        var (contributor, contributorUser) = await NewUser(host, admin, "contrib", tag);
        var (stranger, _) = await NewUser(host, admin, "stranger", tag);
        var upstream = await maintainer.Post("projects", new { name = $"mesa-{tag}", initialize_with_readme = true, visibility = "public" });
        var fork = await contributor.Post($"projects/{upstream.Long("id")}/fork", new { });
        return new World
        {
            Admin = admin, Maintainer = maintainer, Contributor = contributor, Stranger = stranger, Upstream = upstream, Fork = fork,
            ContributorName = contributorUser.Str("username"), MaintainerName = maintainerUser.Str("username"), Host = host, Tag = tag,
        };
    }

    /// <summary>A new user made a member of the upstream project by its maintainer, with the given role.</summary>
    public async Task<(HttpClient Client, JsonNode User)> Member(string name, int accessLevel)
    {
        var (client, user) = await NewUser(Host, Admin, name, Tag);
        await Maintainer.Post($"projects/{Upstream.Long("id")}/members", new { user_id = user.Long("id"), access_level = accessLevel });
        return (client, user);
    }

    private static async Task<(HttpClient Client, JsonNode User)> NewUser(SandboxHost host, HttpClient admin, string name, string tag)
    {
        var username = $"{name}-{tag}";
        var user = await admin.Post("users", new { email = $"{username}@example.com", username, name = $"{name} {tag}", password = "s3cret-password" });
        var token = await admin.Post($"users/{user.Long("id")}/personal_access_tokens", new { name = "tests", scopes = new[] { "api" } });
        return (host.Client(token.Str("token")), user);
    }

    public static object Commit(string branch, string message, string path, string content, string action = "create", string? startBranch = null) => new
    {
        branch,
        start_branch = startBranch,
        commit_message = message,
        actions = new[] { new { action, file_path = path, content } },
    };
}

public static class Files
{
    /// <summary>One commit creating or updating several files.</summary>
    public static object Commit(string branch, string message, IReadOnlyDictionary<string, string> files, string action = "create", string? startBranch = null) => new
    {
        branch,
        start_branch = startBranch,
        commit_message = message,
        actions = files.Select(f => new { action, file_path = f.Key, content = f.Value }).ToArray(),
    };

    public static async Task<JsonNode> WaitForPipeline(this HttpClient client, long project, long pipeline) =>
        await client.WaitFor($"projects/{project}/pipelines/{pipeline}",
            p => p.Str("status") is "success" or "failed" or "canceled" or "skipped" or "manual", TimeSpan.FromSeconds(60));

    public static async Task<JsonNode> LatestPipeline(this HttpClient client, long project, string refName, string sha) =>
        (await client.WaitFor($"projects/{project}/pipelines?ref={refName}&sha={sha}", p => p.AsArray().Count > 0, TimeSpan.FromSeconds(10)))[0]!;

    public static async Task<string> Trace(this HttpClient client, long project, long job) =>
        await client.GetStringAsync($"projects/{project}/jobs/{job}/trace");
}
