using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>
/// POST /projects/:id/merge_requests/:iid/pipelines on a fork merge request: in the parent project when the caller
/// may run pipelines there and ci_allow_fork_pipelines_to_run_in_parent_project allows it, otherwise in the fork.
/// </summary>
public sealed class ForkMergeRequestPipelineTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const string Tag = "2026-04-04-f";

    private static string Ci => $$"""
        stages: [container, test]
        build-image:
          extends: .fdo.container-build@debian
          stage: container
          variables:
            FDO_REPO_SUFFIX: debian/fork-mr
            FDO_DISTRIBUTION_TAG: $IMAGE_TAG
            FDO_DISTRIBUTION_EXEC: mkdir -p "$IMAGE_ROOT/bin"
        show:
          stage: test
          script:
            - echo "source=$CI_PIPELINE_SOURCE iid=$CI_MERGE_REQUEST_IID mrproject=$CI_MERGE_REQUEST_PROJECT_ID srcproject=$CI_MERGE_REQUEST_SOURCE_PROJECT_ID"
            - echo "srcbranch=$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME tgtbranch=$CI_MERGE_REQUEST_TARGET_BRANCH_NAME srcsha=[$CI_MERGE_REQUEST_SOURCE_BRANCH_SHA]"
            - echo "sha=$CI_COMMIT_SHA project=$CI_PROJECT_ID path=$CI_PROJECT_PATH image=$CI_REGISTRY_IMAGE user=$GITLAB_USER_LOGIN"
        """;

    /// <summary>Upstream with CI on main; the contributor's fork with a branch that bumps the image tag, and its MR upstream.</summary>
    private async Task<(World W, long Upstream, long Fork, JsonNode Mr, string Sha)> ForkMergeRequest(string tag)
    {
        var w = await World.CreateAsync(host, tag);
        var upstream = w.Upstream.Long("id");
        var fork = w.Fork.Long("id");
        var main = await w.Maintainer.Post($"projects/{upstream}/repository/commits", World.Commit("main", "CI", ".gitlab-ci.yml", $"variables:\n  IMAGE_TAG: main\n{Ci}"));
        await w.Maintainer.WaitForPipeline(upstream, (await w.Maintainer.LatestPipeline(upstream, "main", main.Str("id"))).Long("id"));
        var change = await w.Contributor.Post($"projects/{fork}/repository/commits", Files.Commit("feature", "Bump the image tag",
            new Dictionary<string, string> { [".gitlab-ci.yml"] = $"variables:\n  IMAGE_TAG: \"{Tag}\"\n" + Ci }, startBranch: "main"));
        var mr = await w.Contributor.Post($"projects/{fork}/merge_requests", new
        {
            source_branch = "feature", target_branch = "main", title = "Bump", target_project_id = upstream, allow_collaboration = true,
        });
        return (w, upstream, fork, mr, change.Str("id"));
    }

    private static async Task<string> ShowLog(HttpClient client, JsonNode pipeline)
    {
        var project = pipeline.Long("project_id");
        var done = await client.WaitForPipeline(project, pipeline.Long("id"));
        Assert.Equal("success", done.Str("status"));
        var jobs = (await client.Get($"projects/{project}/pipelines/{pipeline.Long("id")}/jobs")).AsArray();
        return await client.Trace(project, jobs.Single(j => j!.Str("name") == "show")!.Long("id"));
    }

    [Fact]
    public async Task Given_the_setting_on_When_an_upstream_maintainer_runs_a_fork_MR_pipeline_Then_it_runs_in_the_parent_and_pushes_to_its_registry()
    {
        var (w, upstream, fork, mr, sha) = await ForkMergeRequest("forkpipe1");
        Assert.True((await w.Maintainer.Get($"projects/{upstream}"))["ci_allow_fork_pipelines_to_run_in_parent_project"]!.GetValue<bool>());

        var pipeline = await w.Maintainer.Post($"projects/{upstream}/merge_requests/{mr.Long("iid")}/pipelines", expect: HttpStatusCode.OK);

        Assert.Equal((upstream, "merge_request_event", $"refs/merge-requests/{mr.Long("iid")}/head", sha),
            (pipeline.Long("project_id"), pipeline.Str("source"), pipeline.Str("ref"), pipeline.Str("sha")));
        var log = await ShowLog(w.Maintainer, pipeline);
        var upstreamPath = w.Upstream.Str("path_with_namespace");
        Assert.Contains($"source=merge_request_event iid={mr.Long("iid")} mrproject={upstream} srcproject={fork}", log);
        Assert.Contains("srcbranch=feature tgtbranch=main srcsha=[]", log);
        Assert.Contains($"sha={sha} project={upstream} path={upstreamPath} image=", log);
        Assert.Contains($"/{upstreamPath.ToLowerInvariant()} user={w.MaintainerName}", log);

        var registry = await RegistryAs.RegistryUrl(w.Maintainer, upstream);
        var user = await w.Maintainer.Get("user");
        var token = (await w.Admin.Post($"users/{user.Long("id")}/personal_access_tokens", new { name = "registry", scopes = new[] { "read_registry" } })).Str("token");
        var labels = await RegistryAs.Labels(RegistryAs.User(host, registry, w.MaintainerName, token), $"{upstreamPath.ToLowerInvariant()}/debian/fork-mr", Tag);
        Assert.Equal((pipeline.Long("id").ToString(), sha), (labels.Str("fdo.pipeline_id"), labels.Str("fdo.commit")));

        var listed = (await w.Maintainer.Get($"projects/{upstream}/merge_requests/{mr.Long("iid")}/pipelines")).AsArray();
        var entry = listed.Single(p => p!.Long("id") == pipeline.Long("id"))!;
        Assert.Equal((upstream, sha, "merge_request_event"), (entry.Long("project_id"), entry.Str("sha"), entry.Str("source")));
    }

    [Fact]
    public async Task Given_the_setting_off_When_an_upstream_maintainer_runs_a_fork_MR_pipeline_Then_it_runs_in_the_fork()
    {
        var (w, upstream, fork, mr, sha) = await ForkMergeRequest("forkpipe2");
        var (developer, _) = await w.Member("dev", 30);
        await developer.Put($"projects/{upstream}", new { ci_allow_fork_pipelines_to_run_in_parent_project = false }, HttpStatusCode.Forbidden);
        Assert.Null((await developer.Get($"projects/{upstream}"))["ci_allow_fork_pipelines_to_run_in_parent_project"]);
        var updated = await w.Maintainer.Put($"projects/{upstream}", new { ci_allow_fork_pipelines_to_run_in_parent_project = false });
        Assert.False(updated["ci_allow_fork_pipelines_to_run_in_parent_project"]!.GetValue<bool>());

        var pipeline = await w.Maintainer.Post($"projects/{upstream}/merge_requests/{mr.Long("iid")}/pipelines", expect: HttpStatusCode.OK);

        Assert.Equal((fork, "merge_request_event", "feature", sha),
            (pipeline.Long("project_id"), pipeline.Str("source"), pipeline.Str("ref"), pipeline.Str("sha")));
        var log = await ShowLog(w.Maintainer, pipeline);
        Assert.Contains($"source=merge_request_event iid={mr.Long("iid")} mrproject={upstream} srcproject={fork}", log);
        Assert.Contains($"project={fork} path={w.Fork.Str("path_with_namespace")} ", log);
        var listed = (await w.Maintainer.Get($"projects/{upstream}/merge_requests/{mr.Long("iid")}/pipelines")).AsArray();
        Assert.Contains(listed, p => p!.Long("id") == pipeline.Long("id") && p!.Long("project_id") == fork);
    }

    [Fact]
    public async Task Given_a_developer_of_the_fork_only_When_they_run_the_MR_pipeline_Then_it_runs_in_the_fork()
    {
        var (w, upstream, fork, mr, sha) = await ForkMergeRequest("forkpipe3");
        var created = await w.Admin.Post("users", new { email = "forkdev-forkpipe3@example.com", username = "forkdev-forkpipe3", name = "forkdev", password = "s3cret-password" });
        var token = (await w.Admin.Post($"users/{created.Long("id")}/personal_access_tokens", new { name = "tests", scopes = new[] { "api" } })).Str("token");
        await w.Contributor.Post($"projects/{fork}/members", new { user_id = created.Long("id"), access_level = 30 });
        var forkDeveloper = host.Client(token);

        var pipeline = await forkDeveloper.Post($"projects/{upstream}/merge_requests/{mr.Long("iid")}/pipelines", expect: HttpStatusCode.OK);

        Assert.Equal((fork, "merge_request_event", "feature", sha),
            (pipeline.Long("project_id"), pipeline.Str("source"), pipeline.Str("ref"), pipeline.Str("sha")));
        Assert.Contains("user=forkdev-forkpipe3", await ShowLog(forkDeveloper, pipeline));
        // Neither a member here nor there: GitLab's pipeline creation refuses.
        await w.Stranger.Post($"projects/{upstream}/merge_requests/{mr.Long("iid")}/pipelines", expect: HttpStatusCode.BadRequest);
    }
}
