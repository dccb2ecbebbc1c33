using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Sandbox.Tests.Contract;

/// <summary>Pipelines, jobs and the container registry API against GitLab's documented examples.</summary>
public sealed class CiContractTests(SandboxHost host, ITestOutputHelper output) : IClassFixture<SandboxHost>
{
    private const string Ci = """
        stages: [container, test]
        build-image:
          extends: .fdo.container-build@debian
          variables:
            FDO_REPO_SUFFIX: debian/x86_64_build
            FDO_DISTRIBUTION_TAG: "2026-03-03-c"
            FDO_DISTRIBUTION_EXEC: 'mkdir -p "$IMAGE_ROOT/bin" && echo built > "$IMAGE_ROOT/built"'
        test:
          stage: test
          script: ["echo $NIGHTLY"]
        """;

    [Fact]
    public async Task Given_pipelines_and_images_When_read_Then_they_match_gitlabs_pipeline_job_and_registry_examples()
    {
        var w = await World.CreateAsync(host, "cicontract");
        var id = w.Upstream.Long("id");
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", Files.Commit("main", "CI", new Dictionary<string, string> { [".gitlab-ci.yml"] = Ci }));
        await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));

        var created = await w.Maintainer.Post($"projects/{id}/pipeline", new { @ref = "main", variables = new[] { new { key = "NIGHTLY", value = "yes" } } });
        var done = await w.Maintainer.WaitForPipeline(id, created.Long("id"));
        var list = await w.Maintainer.Get($"projects/{id}/pipelines");
        var variables = await w.Maintainer.Get($"projects/{id}/pipelines/{created.Long("id")}/variables");
        var jobs = await w.Maintainer.Get($"projects/{id}/pipelines/{created.Long("id")}/jobs");
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "main", target_branch = "main", title = "x" }, HttpStatusCode.UnprocessableEntity);
        await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch = "topic", @ref = "main" });
        var topicMr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "MR pipeline" });
        var mrPipeline = await w.Maintainer.Post($"projects/{id}/merge_requests/{topicMr.Long("iid")}/pipelines", expect: HttpStatusCode.OK);
        var cancelled = await w.Maintainer.Post($"projects/{id}/pipelines/{mrPipeline.Long("id")}/cancel", expect: HttpStatusCode.OK);
        var repositories = await w.Maintainer.Get($"projects/{id}/registry/repositories");
        var repository = await w.Maintainer.Get($"registry/repositories/{repositories[0]!.Long("id")}?tags=true&tags_count=true&size=true");
        var tags = await w.Maintainer.Get($"projects/{id}/registry/repositories/{repositories[0]!.Long("id")}/tags");
        var tag = await w.Maintainer.Get($"projects/{id}/registry/repositories/{repositories[0]!.Long("id")}/tags/2026-03-03-c");

        // A pipeline that has not started has no start, finish or durations; one that ran has no name or coverage.
        HashSet<string> notStarted = ["$.started_at", "$.finished_at", "$.duration", "$.queued_duration"];
        AssertShape("pipeline.json", done, "$.name");
        AssertShape("pipeline.create.json", created, [.. notStarted]);
        AssertShape("pipelines.list.json", list, "$[].name");
        AssertShape("pipeline_variables.json", variables);
        // Jobs that passed have no failure reason; the sandbox keeps no artifacts.
        AssertShape("pipeline_jobs.json", jobs, "$[].artifacts_expire_at", "$[].failure_reason", "$[].artifacts[]");
        var job = await w.Maintainer.Get($"projects/{id}/jobs/{jobs[1]!.Long("id")}");
        // The sandbox keeps no artifacts, so they never expire.
        AssertShape("job.json", job, "$.artifacts_expire_at");
        Assert.Equal(("test", "success", created.Long("id")), (job.Str("name"), job.Str("status"), job["pipeline"]!.Long("id")));
        AssertShape("merge_request_pipeline.create.json", mrPipeline, [.. notStarted]);
        AssertShape("pipeline.cancel.json", cancelled, [.. notStarted]);
        AssertShape("registry_repositories.json", repositories, "$[].cleanup_policy_started_at");
        // status is set only while GitLab deletes a repository; no cleanup policy ran.
        AssertShape("registry_repository.json", repository, "$.cleanup_policy_started_at", "$.status");
        AssertShape("registry_tags.list.json", tags);
        AssertShape("registry_tag.json", tag);

        Assert.Equal(("api", "success", "main", commit.Str("id")), (done.Str("source"), done.Str("status"), done.Str("ref"), done.Str("sha")));
        Assert.Equal("yes", variables[0]!.Str("value"));
        Assert.Equal(["build-image", "test"], jobs.AsArray().Select(j => j!.Str("name")));
        Assert.Equal(created.Long("id"), jobs[0]!["pipeline"]!.Long("id"));
        Assert.Equal($"refs/merge-requests/{topicMr.Long("iid")}/head", mrPipeline.Str("ref"));
        Assert.Equal("merge_request_event", (await w.Maintainer.Get($"projects/{id}/pipelines/{mrPipeline.Long("id")}")).Str("source"));
        Assert.Equal("debian/x86_64_build", repositories[0]!.Str("name"));
        Assert.Equal($"{w.Upstream.Str("path_with_namespace").ToLowerInvariant()}/debian/x86_64_build", repositories[0]!.Str("path"));
        Assert.Equal(1, repository.Long("tags_count"));
        Assert.Equal("2026-03-03-c", tags[0]!.Str("name"));
        Assert.StartsWith("sha256:", tag.Str("digest"));
        Assert.True(tag.Long("total_size") > 0);
        Assert.Contains("yes", await w.Maintainer.Trace(id, jobs[1]!.Long("id")));
        Assert.NotNull(mr);
    }

    private void AssertShape(string fixture, JsonNode actual, params string[] nullable)
    {
        var problems = Shape.Differences(Fixtures.GitLabApi(fixture), actual, new HashSet<string>(nullable));
        foreach (var p in problems) output.WriteLine($"{fixture}: {p}");
        Assert.Empty(problems);
    }
}
