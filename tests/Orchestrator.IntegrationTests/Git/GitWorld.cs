extern alias sandbox;

using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain.Trailers;
using Orchestrator.IntegrationTests.Infrastructure;
using sandbox::Sandbox.Git;
using Xunit;

namespace Orchestrator.IntegrationTests.Git;

/// <summary>
/// A small world on the sandbox for the git worker: a maintainer's project with the bot as a maintainer, an author
/// who is a developer there and owns a fork; a worker logged in as the bot with a mirror folder of its own.
/// </summary>
public sealed class GitWorld
{
    public required SandboxFixture Sandbox { get; init; }
    public required HttpClient Maintainer { get; init; }
    public required HttpClient Author { get; init; }
    public required string AuthorToken { get; init; }
    public required string BotToken { get; init; }
    public required GitProject Upstream { get; init; }
    public required GitProject Fork { get; init; }
    public required string MirrorRoot { get; init; }

    public static readonly Trailer Reviewed = new("Reviewed-by", "Ada Lovelace <ada@example.com>");

    public static readonly GitCommitter Bot = new("Marge Bot", "marge-bot@example.com", new DateTimeOffset(2026, 1, 15, 10, 30, 0, TimeSpan.FromHours(1)));

    public static async Task<GitWorld> CreateAsync(SandboxFixture sandbox, string tag)
    {
        tag += Guid.NewGuid().ToString("N")[..6];
        using var admin = sandbox.Api(SandboxFixture.AdminToken);
        var (maintainer, _, _) = await User(sandbox, admin, "maint-" + tag);
        var (author, authorUser, authorToken) = await User(sandbox, admin, "author-" + tag);
        var (_, botUser, botToken) = await User(sandbox, admin, "bot-" + tag);
        var project = await Send(maintainer.PostAsJsonAsync("projects", new { name = "lib-" + tag, initialize_with_readme = true, visibility = "public" }));
        var id = project["id"]!.GetValue<long>();
        await Send(maintainer.PostAsJsonAsync($"projects/{id}/members", new { user_id = botUser["id"]!.GetValue<long>(), access_level = 40 }));
        await Send(maintainer.PostAsJsonAsync($"projects/{id}/members", new { user_id = authorUser["id"]!.GetValue<long>(), access_level = 30 }));
        var fork = await Send(author.PostAsJsonAsync($"projects/{id}/fork", new { }));
        return new GitWorld
        {
            Sandbox = sandbox, Maintainer = maintainer, Author = author, AuthorToken = authorToken, BotToken = botToken,
            Upstream = new GitProject(id, project["path_with_namespace"]!.GetValue<string>()),
            Fork = new GitProject(fork["id"]!.GetValue<long>(), fork["path_with_namespace"]!.GetValue<string>()),
            MirrorRoot = Directory.CreateTempSubdirectory("git-worker-test-").FullName,
        };
    }

    public GitWorker Worker(string? mirrorRoot = null) =>
        new(new GitWorkerSettings(new Uri(Sandbox.BaseUrl), BotToken, mirrorRoot ?? MirrorRoot, "git", TimeSpan.FromMinutes(2)), NullLogger<GitWorker>.Instance);

    /// <summary>One commit through the API (a push as far as GitLab is concerned); its SHA.</summary>
    public static async Task<string> Commit(HttpClient who, GitProject project, string branch, string message, string path, string content,
        string action = "create", string? startBranch = null) =>
        (await Send(who.PostAsJsonAsync($"projects/{project.Id}/repository/commits", new
        {
            branch, start_branch = startBranch, commit_message = message, actions = new[] { new { action, file_path = path, content } },
        })))["id"]!.GetValue<string>();

    public async Task<string?> Head(GitProject project, string branch)
    {
        using var r = await Maintainer.GetAsync($"projects/{project.Id}/repository/branches/{Uri.EscapeDataString(branch)}");
        return r.IsSuccessStatusCode ? (await r.Content.ReadFromJsonAsync<JsonNode>())!["commit"]!["id"]!.GetValue<string>() : null;
    }

    public async Task<long> OpenMergeRequest(HttpClient who, GitProject source, string branch, bool allowCollaboration = true) =>
        (await Send(who.PostAsJsonAsync($"projects/{source.Id}/merge_requests", new
        {
            source_branch = branch, target_branch = "main", title = branch, target_project_id = Upstream.Id, allow_collaboration = allowCollaboration,
        })))["iid"]!.GetValue<long>();

    public GitRewrite Rewrite(GitProject source, string branch, string expected, params Trailer[] trailers) =>
        new(Upstream, "main", source, branch, expected, null, trailers, Bot, SkipCi: true);

    public string WebUrl(long iid) => $"{Sandbox.BaseUrl.TrimEnd('/')}/{Upstream.PathWithNamespace}/-/merge_requests/{iid}";

    /// <summary>A git command on the test's side (a clone, or the worker's mirror to read what it wrote).</summary>
    public static async Task<string> RunGit(string? dir, params string[] args)
    {
        var r = await GitCli.TryRunAsync(dir, args, identity: new GitCli.Identity("Author", "author@example.com"));
        Assert.True(r.ExitCode == 0, $"git {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout;
    }

    /// <summary>git as the author, authenticated as tests and the worker do it: a header set through the environment.</summary>
    public async Task<string> AuthorGit(string? dir, params string[] args)
    {
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("oauth2:" + AuthorToken));
        var env = new Dictionary<string, string> { ["GIT_CONFIG_COUNT"] = "1", ["GIT_CONFIG_KEY_0"] = "http.extraHeader", ["GIT_CONFIG_VALUE_0"] = "Authorization: Basic " + basic };
        var r = await GitCli.TryRunAsync(dir, args, identity: new GitCli.Identity("Author", "author@example.com"), env: env);
        Assert.True(r.ExitCode == 0, $"git {args[0]}: {r.Stderr}");
        return r.Stdout;
    }

    public string Url(GitProject project) => $"{Sandbox.BaseUrl.TrimEnd('/')}/{project.PathWithNamespace}.git";

    private static async Task<(HttpClient Client, JsonNode User, string Token)> User(SandboxFixture sandbox, HttpClient admin, string username)
    {
        var user = await Send(admin.PostAsJsonAsync("users", new { email = $"{username}@example.com", username, name = $"User {username}", password = "s3cret-password" }));
        var token = (await Send(admin.PostAsJsonAsync($"users/{user["id"]}/personal_access_tokens", new { name = "tests", scopes = new[] { "api" } })))["token"]!.GetValue<string>();
        return (sandbox.Api(token), user, token);
    }

    private static async Task<JsonNode> Send(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
