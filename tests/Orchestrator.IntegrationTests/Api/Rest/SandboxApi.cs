using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Api.Rest;

/// <summary>
/// The orchestrator's API on top of the sandbox GitLab, with the factory's tokens plus two more: one acting for a
/// GitLab user, one on its own authority. Small sandbox fixtures (users, a project, merge requests) are made through
/// the sandbox's own REST API, as a person would.
/// </summary>
public sealed class SandboxApi : IAsyncDisposable
{
    public const string UserToken = "token-acting-for-a-gitlab-user";
    public const string OwnToken = "token-on-its-own-authority";
    public const string OwnTokenName = "ci-robot";

    private readonly SandboxFixture sandbox;

    private SandboxApi(SandboxFixture sandbox, OrchestratorApiFactory factory, JsonNode bot, JsonNode maintainer)
    {
        this.sandbox = sandbox;
        Factory = factory;
        Bot = bot;
        Maintainer = maintainer;
    }

    public OrchestratorApiFactory Factory { get; }
    public JsonNode Bot { get; }
    /// <summary>The GitLab user <see cref="UserToken"/> acts for.</summary>
    public JsonNode Maintainer { get; }

    public static async Task<SandboxApi> StartAsync(SchemaFixture db, SandboxFixture sandbox, string suffix)
    {
        var admin = sandbox.Api(SandboxFixture.AdminToken);
        var bot = await UserAsync(admin, "bot-" + suffix);
        var maintainer = await UserAsync(admin, "maint-" + suffix);
        // Tokens 0-3 are the factory's own.
        var factory = new OrchestratorApiFactory(db.Schema, new Dictionary<string, string?>
        {
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
            ["Orchestrator:Workflow:ReconcileInterval"] = "00:00:00",
            ["Orchestrator:Api:Tokens:4:Name"] = "acting-for-a-user",
            ["Orchestrator:Api:Tokens:4:Sha256"] = global::Orchestrator.Api.Security.ApiTokens.Hash(UserToken),
            ["Orchestrator:Api:Tokens:4:Scopes:0"] = "merge",
            ["Orchestrator:Api:Tokens:4:Scopes:1"] = "read",
            ["Orchestrator:Api:Tokens:4:GitLabUser"] = maintainer["username"]!.GetValue<string>(),
            ["Orchestrator:Api:Tokens:5:Name"] = OwnTokenName,
            ["Orchestrator:Api:Tokens:5:Sha256"] = global::Orchestrator.Api.Security.ApiTokens.Hash(OwnToken),
            ["Orchestrator:Api:Tokens:5:Scopes:0"] = "merge",
            ["Orchestrator:Api:Tokens:5:Scopes:1"] = "read",
        });
        return new SandboxApi(sandbox, factory, bot, maintainer);
    }

    public HttpClient As(string token) => Factory.ClientWith(token);

    /// <summary>A public project of the maintainer's, the bot a maintainer in it; answers its id.</summary>
    public async Task<long> ProjectAsync(string path)
    {
        var owner = sandbox.Api(Maintainer["token"]!.GetValue<string>());
        var project = await PostAsync(owner, "projects", new { name = path, path, visibility = "public", initialize_with_readme = true });
        var id = project["id"]!.GetValue<long>();
        await PostAsync(owner, $"projects/{id}/members", new { user_id = Bot["id"]!.GetValue<long>(), access_level = 40 });
        return id;
    }

    /// <summary>A merge request from a new branch of <paramref name="sourceProject"/> into <paramref name="targetProject"/>'s main; answers its iid.</summary>
    public async Task<long> MergeRequestAsync(long sourceProject, long targetProject, string branch)
    {
        var owner = sandbox.Api(Maintainer["token"]!.GetValue<string>());
        await PostAsync(owner, $"projects/{sourceProject}/repository/commits", new
        {
            branch, start_branch = "main", commit_message = "docs: " + branch,
            actions = new[] { new { action = "create", file_path = branch + ".md", content = branch + "\n" } },
        });
        var mr = await PostAsync(owner, $"projects/{sourceProject}/merge_requests", new
        {
            source_branch = branch, target_branch = "main", title = branch, target_project_id = targetProject,
        });
        return mr["iid"]!.GetValue<long>();
    }

    /// <summary>A fork of <paramref name="project"/> in the maintainer's namespace under another path; answers its id.</summary>
    public async Task<long> ForkAsync(long project, string path)
    {
        var owner = sandbox.Api(Maintainer["token"]!.GetValue<string>());
        return (await PostAsync(owner, $"projects/{project}/fork", new { name = path, path }))["id"]!.GetValue<long>();
    }

    /// <summary>Makes the sandbox fail the next <paramref name="count"/> calls whose path matches <paramref name="pattern"/>.</summary>
    public async Task FailAsync(string pattern, int count)
    {
        using var admin = new HttpClient { BaseAddress = new Uri(sandbox.BaseUrl) };
        admin.DefaultRequestHeaders.Add("PRIVATE-TOKEN", SandboxFixture.AdminToken);
        (await admin.PutAsJsonAsync("/-/sandbox/faults", new { routes = new[] { new { method = "GET", path = pattern, status = 503, count } } }))
            .EnsureSuccessStatusCode();
    }

    private static async Task<JsonNode> UserAsync(HttpClient admin, string username)
    {
        var user = await PostAsync(admin, "users", new { email = $"{username}@example.com", username, name = username, password = "s3cret-password" });
        var token = await PostAsync(admin, $"users/{user["id"]}/personal_access_tokens", new { name = "tests", scopes = new[] { "api" } });
        return new JsonObject { ["id"] = user["id"]!.GetValue<long>(), ["username"] = username, ["token"] = token["token"]!.GetValue<string>() };
    }

    private static async Task<JsonNode> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var answer = await response.Content.ReadFromJsonAsync<JsonNode>();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"sandbox answered {(int)response.StatusCode} to {path}: {answer}");
        return answer!;
    }

    public async ValueTask DisposeAsync() => await Factory.DisposeAsync();
}
