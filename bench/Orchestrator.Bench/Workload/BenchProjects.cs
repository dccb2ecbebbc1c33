using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Workload;

/// <summary>
/// People of a workload: a maintainer who owns the projects (and is the one who asks the bot to merge: only people
/// who may merge get a merge), a developer who opens MRs, the merge bot.
/// </summary>
public sealed record Team(string Tag, Rest Maintainer, Rest Developer, Rest Bot, long BotId, long DeveloperId, string BotUsername, string BotToken,
    string MaintainerUsername);

/// <summary>A project with a fixed-length pipeline and no container image: the workload of the overhead and scale figures.</summary>
public sealed record PlainProject(long Id, string Path);

/// <summary>Builds the benchmark's workloads through the sandbox's REST API, as people would on GitLab.</summary>
public static class BenchProjects
{
    public static async Task<Team> CreateTeamAsync(SandboxHost sandbox, string tag)
    {
        var admin = sandbox.Admin;
        async Task<(long Id, string Username, string Token)> User(string name)
        {
            var user = await admin.Post("users", new { email = $"{name}@example.com", username = name, name, password = "s3cret-password" });
            var token = await admin.Post($"users/{user["id"]}/personal_access_tokens", new { name = "bench", scopes = new[] { "api" } });
            return (user["id"]!.GetValue<long>(), name, token["token"]!.GetValue<string>());
        }
        var maintainer = await User($"maintainer-{tag}");
        var developer = await User($"dev-{tag}");
        var bot = await User($"marge-bot-{tag}");
        return new Team(tag, Rest.GitLab(sandbox.BaseUrl, maintainer.Token), Rest.GitLab(sandbox.BaseUrl, developer.Token),
            Rest.GitLab(sandbox.BaseUrl, bot.Token), bot.Id, developer.Id, bot.Username, bot.Token, maintainer.Username);
    }

    /// <summary>
    /// A project whose every pipeline is one job sleeping <paramref name="pipelineSeconds"/>. No hook yet: its id must be
    /// known before the orchestrator starts (each project's webhook secret is configured then), and the hook added after.
    /// </summary>
    public static async Task<PlainProject> CreatePlainProjectAsync(Team team, string name, double pipelineSeconds)
    {
        var project = await team.Maintainer.Post("projects", new { name, path = name, visibility = "public", initialize_with_readme = true });
        var id = project["id"]!.GetValue<long>();
        await team.Maintainer.Post($"projects/{id}/members", new { user_id = team.DeveloperId, access_level = 30 });
        await team.Maintainer.Post($"projects/{id}/members", new { user_id = team.BotId, access_level = 40 });
        var ci = $"stages: [test]\ntest:\n  stage: test\n  script:\n    - sleep {pipelineSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n";
        await team.Maintainer.Post($"projects/{id}/repository/commits", new
        {
            branch = "main", commit_message = "ci: one test job",
            actions = new[] { new { action = "create", file_path = ".gitlab-ci.yml", content = ci } },
        });
        return new PlainProject(id, project["path_with_namespace"]!.GetValue<string>());
    }

    /// <summary>The project's hook to the orchestrator, with <paramref name="secret"/>: that project's own.</summary>
    public static Task<JsonNode> AddHookAsync(Rest owner, long project, string orchestratorUrl, string secret) =>
        owner.Post($"projects/{project}/hooks", new
        {
            url = orchestratorUrl.TrimEnd('/') + "/webhooks/gitlab", token = secret,
            push_events = true, merge_requests_events = true, pipeline_events = true, job_events = true, note_events = true,
        });

    /// <summary>The developer's MR adding one file of its own from a new branch of main (no conflicts between MRs).</summary>
    public static async Task<long> OpenMrAsync(Team team, long project, string branch)
    {
        await team.Developer.Post($"projects/{project}/repository/commits", new
        {
            branch, start_branch = "main", commit_message = $"docs: {branch}",
            actions = new[] { new { action = "create", file_path = $"changes/{branch}.md", content = $"{branch}\n" } },
        });
        var mr = await team.Developer.Post($"projects/{project}/merge_requests", new { source_branch = branch, target_branch = "main", title = $"docs: {branch}" });
        return mr["iid"]!.GetValue<long>();
    }

    /// <summary>The maintainer pushes to main, so every open MR is behind its target.</summary>
    public static Task<JsonNode> MoveMainAsync(Team team, long project) =>
        team.Maintainer.Post($"projects/{project}/repository/commits", new
        {
            branch = "main", commit_message = "chore: main moves on",
            actions = new[] { new { action = "create", file_path = $"main-moved-{Guid.NewGuid():N}.md", content = "moved\n" } },
        });

    public static async Task PutPolicyAsync(Rest orchestrator, long project, object policy) =>
        await orchestrator.Put($"api/v1/projects/{project}/policy", policy);

    /// <summary>Waits until no pipeline of the project is unfinished, so set-up pipelines do not load the timed part.</summary>
    public static async Task DrainPipelinesAsync(Rest gitlab, long project)
    {
        for (var i = 0; i < 1200; i++)
        {
            var pipelines = (await gitlab.Get($"projects/{project}/pipelines?per_page=100")).AsArray();
            if (pipelines.All(p => p!["status"]!.GetValue<string>() is "success" or "failed" or "canceled" or "skipped" or "manual")) return;
            await Task.Delay(250);
        }
        throw new TimeoutException($"project {project} still has unfinished pipelines");
    }

    /// <summary>A pipeline's wall time as GitLab reports it: created to finished.</summary>
    public static async Task<double> PipelineSecondsAsync(Rest gitlab, long project, long pipeline)
    {
        var p = await gitlab.Get($"projects/{project}/pipelines/{pipeline}");
        var created = DateTimeOffset.Parse(p["created_at"]!.GetValue<string>());
        var finished = DateTimeOffset.Parse(p["finished_at"]!.GetValue<string>());
        return (finished - created).TotalSeconds;
    }
}
