using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Sandbox.Seed;

/// <summary>
/// Builds the incident through the sandbox's own REST API, as a person would on GitLab:
/// upstream <c>mesa/mesa</c>; MR A from alice's fork bumps the image tag and adds a tool built against
/// libfoo 1 — its image was built in the fork before B landed; MR B (bob, upstream branch) moves
/// packages.txt to libfoo 2 without bumping its tag, passes on the old image and is merged.
/// Rebasing A and merging it naively breaks the upstream post-merge image build.
/// </summary>
public sealed class IncidentSeeder(HttpClient http, string adminToken)
{
    public async Task<JsonObject> SeedAsync(string tag = "")
    {
        var admin = Client(adminToken);
        var (maintainer, maintainerToken) = await User(admin, $"mesa-maintainer{tag}");
        var (alice, aliceToken) = await User(admin, $"alice{tag}");
        var (bob, bobToken) = await User(admin, $"bob{tag}");
        var (bot, botToken) = await User(admin, $"marge-bot{tag}");
        var m = Client(maintainerToken);
        var a = Client(aliceToken);
        var b = Client(bobToken);

        var group = await Post(m, "groups", new { name = $"mesa{tag}", path = $"mesa{tag}" });
        var upstream = await Post(m, "projects", new
        {
            name = "mesa", path = "mesa", namespace_id = group["id"]!.GetValue<long>(), visibility = "public", initialize_with_readme = true,
            // Said out loud though it is GitLab's default: fork merge request pipelines an upstream member starts run here.
            ci_allow_fork_pipelines_to_run_in_parent_project = true,
        });
        var up = upstream["id"]!.GetValue<long>();
        await Post(m, $"projects/{up}/members", new { user_id = bob["id"]!.GetValue<long>(), access_level = 30 });
        await Post(m, $"projects/{up}/members", new { user_id = bot["id"]!.GetValue<long>(), access_level = 40 });
        var upstreamPath = upstream["path_with_namespace"]!.GetValue<string>();
        var ci = IncidentFiles.GitLabCi.Replace("FDO_UPSTREAM_REPO: mesa/mesa", $"FDO_UPSTREAM_REPO: {upstreamPath}");

        var baseCommit = await Commit(m, up, "main", "ci: build the debian image and test inside it", new()
        {
            [".gitlab-ci.yml"] = ci,
            [".gitlab-ci/image-tags.yml"] = IncidentFiles.ImageTags(IncidentFiles.BaseTag),
            [".gitlab-ci/container/packages.txt"] = IncidentFiles.PackagesV1,
            [".gitlab-ci/container/debian/x86_64_build.sh"] = IncidentFiles.BaseBuild,
            [".gitlab-ci/run-tests.sh"] = IncidentFiles.RunTests,
            ["tests/requirements.txt"] = IncidentFiles.RequirementsBase,
        });
        var basePipeline = await PipelineFor(m, up, "main", baseCommit);

        // A, days ago: alice's fork bumps the tag and adds mesa-tool; the fork's pipeline builds the new image.
        var fork = await Post(a, $"projects/{up}/fork", new { });
        var forkId = fork["id"]!.GetValue<long>();
        var aCommit = await Commit(a, forkId, "a-new-tool", "ci: add mesa-tool to the build image", new()
        {
            [".gitlab-ci/image-tags.yml"] = IncidentFiles.ImageTags(IncidentFiles.ToolTag),
            [".gitlab-ci/container/debian/x86_64_build.sh"] = IncidentFiles.ToolBuild(api: 1),
            ["tests/requirements.txt"] = IncidentFiles.RequirementsWithFoo(1),
        }, action: "update", startBranch: "main");
        var aPipeline = await PipelineFor(a, forkId, "a-new-tool", aCommit);
        var mrA = await Post(a, $"projects/{forkId}/merge_requests", new
        {
            source_branch = "a-new-tool", target_branch = "main", title = "Add mesa-tool to the build image",
            target_project_id = up, allow_collaboration = true,
        });

        // B: moves libfoo to 2 but forgets to bump its tag; its pipeline reuses the old image and passes; merged.
        var bCommit = await Commit(b, up, "b-libfoo-2", "ci: move to libfoo 2", new()
        {
            [".gitlab-ci/container/packages.txt"] = IncidentFiles.PackagesV2,
        }, action: "update", startBranch: "main");
        var bPipeline = await PipelineFor(b, up, "b-libfoo-2", bCommit);
        var mrB = await Post(b, $"projects/{up}/merge_requests", new { source_branch = "b-libfoo-2", target_branch = "main", title = "Move to libfoo 2" });
        var bIid = mrB["iid"]!.GetValue<long>();
        await WaitMergeable(m, up, bIid);
        var merged = await Put(m, $"projects/{up}/merge_requests/{bIid}/merge", new { sha = bCommit });
        var mainAfterB = merged["merge_commit_sha"]!.GetValue<string>();
        var mainPipeline = await PipelineFor(m, up, "main", mainAfterB);

        // The registry's address, as GitLab publishes it in a repository's location.
        var location = (await Get(m, $"projects/{up}/registry/repositories")).AsArray()[0]!["location"]!.GetValue<string>();
        return new JsonObject
        {
            ["registry"] = "http://" + location.Split('/')[0],
            ["upstream"] = new JsonObject { ["id"] = up, ["path"] = upstreamPath },
            ["fork"] = new JsonObject { ["id"] = forkId, ["path"] = fork["path_with_namespace"]!.GetValue<string>() },
            ["users"] = new JsonObject
            {
                ["maintainer"] = Person(maintainer, maintainerToken), ["alice"] = Person(alice, aliceToken),
                ["bob"] = Person(bob, bobToken), ["bot"] = Person(bot, botToken),
            },
            ["image"] = new JsonObject { ["name"] = "debian/x86_64_build", ["base_tag"] = IncidentFiles.BaseTag, ["a_tag"] = IncidentFiles.ToolTag },
            ["mr_a"] = new JsonObject { ["iid"] = mrA["iid"]!.GetValue<long>(), ["sha"] = aCommit, ["fork_pipeline"] = aPipeline },
            ["mr_b"] = new JsonObject { ["iid"] = bIid, ["sha"] = bCommit, ["pipeline"] = bPipeline },
            ["main"] = new JsonObject { ["base_commit"] = baseCommit, ["base_pipeline"] = basePipeline, ["after_b"] = mainAfterB, ["after_b_pipeline"] = mainPipeline },
        };
    }

    /// <summary>alice's fix for A: mesa-tool built against the libfoo 2 API, tests asking for libfoo 2.</summary>
    public async Task<string> FixAAsync(string aliceToken, long fork) =>
        await Commit(Client(aliceToken), fork, "a-new-tool", "ci: build mesa-tool against libfoo 2", new()
        {
            [".gitlab-ci/container/debian/x86_64_build.sh"] = IncidentFiles.ToolBuild(api: 2),
            ["tests/requirements.txt"] = IncidentFiles.RequirementsWithFoo(2),
        }, action: "update");

    private static JsonObject Person(JsonNode user, string token) => new()
    {
        ["id"] = user["id"]!.GetValue<long>(), ["username"] = user["username"]!.GetValue<string>(), ["token"] = token,
    };

    private HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = http.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("PRIVATE-TOKEN", token);
        return client;
    }

    private static async Task<(JsonNode User, string Token)> User(HttpClient admin, string username)
    {
        var user = await Post(admin, "users", new { email = $"{username}@example.com", username, name = username, password = "s3cret-password" });
        var token = await Post(admin, $"users/{user["id"]}/personal_access_tokens", new { name = "seed", scopes = new[] { "api" } });
        return (user, token["token"]!.GetValue<string>());
    }

    private static async Task<string> Commit(HttpClient c, long project, string branch, string message, Dictionary<string, string> files,
        string action = "create", string? startBranch = null)
    {
        var created = await Post(c, $"projects/{project}/repository/commits", new
        {
            branch, start_branch = startBranch, commit_message = message,
            actions = files.Select(f => new { action, file_path = f.Key, content = f.Value }).ToArray(),
        });
        return created["id"]!.GetValue<string>();
    }

    /// <summary>Waits for the push pipeline of <paramref name="sha"/> to finish; returns its id, failing the seed if it did not pass.</summary>
    private static async Task<long> PipelineFor(HttpClient c, long project, string branch, string sha)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var list = (await Get(c, $"projects/{project}/pipelines?ref={Uri.EscapeDataString(branch)}&sha={sha}")).AsArray();
            if (list.Count > 0 && list[0]!["status"]!.GetValue<string>() is var status && status is "success" or "failed" or "canceled")
            {
                if (status != "success") throw new InvalidOperationException($"seed pipeline {list[0]!["id"]} on {branch} ended {status}");
                return list[0]!["id"]!.GetValue<long>();
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"no finished pipeline for {branch}@{sha}");
    }

    private static async Task WaitMergeable(HttpClient c, long project, long iid)
    {
        for (var i = 0; i < 600; i++)
        {
            if ((await Get(c, $"projects/{project}/merge_requests/{iid}"))["detailed_merge_status"]!.GetValue<string>() == "mergeable") return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"!{iid} never became mergeable");
    }

    private static async Task<JsonNode> Get(HttpClient c, string path) => await Read(await c.GetAsync(path));
    private static async Task<JsonNode> Post(HttpClient c, string path, object body) => await Read(await c.PostAsJsonAsync(path, body));
    private static async Task<JsonNode> Put(HttpClient c, string path, object body) => await Read(await c.PutAsJsonAsync(path, body));

    private static async Task<JsonNode> Read(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
