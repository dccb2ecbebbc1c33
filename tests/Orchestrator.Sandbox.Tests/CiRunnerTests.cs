using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>The sandbox's CI: pipelines from pushes and the API, stages, needs, variables, statuses, cancel and retry.</summary>
public sealed class CiRunnerTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const string Config = """
        stages: [build, test]
        include:
          - local: .gitlab-ci/vars.yml
        variables:
          GREETING: hello
        .base:
          variables:
            FROM_TEMPLATE: template
        build:
          extends: .base
          stage: build
          script:
            - echo "build $GREETING $FROM_TEMPLATE $INCLUDED $CI_PIPELINE_SOURCE $GITLAB_USER_LOGIN"
            - test -f README.md
        test:
          stage: test
          variables:
            GREETING: overridden-by-job
          script:
            - echo "test $GREETING $EXTRA on $CI_COMMIT_SHA in $CI_PROJECT_PATH"
            - test "$FAIL" != yes
        """;

    private async Task<(World W, long Id, JsonNode Commit)> Project(string tag, string config = Config)
    {
        var w = await World.CreateAsync(host, tag);
        var id = w.Upstream.Long("id");
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", Files.Commit("main", "Add CI",
            new Dictionary<string, string> { [".gitlab-ci.yml"] = config, [".gitlab-ci/vars.yml"] = "variables:\n  INCLUDED: from-include\n" }));
        return (w, id, commit);
    }

    [Fact]
    public async Task Given_a_push_When_it_has_a_gitlab_ci_yml_Then_a_branch_pipeline_runs_its_stages_with_gitlabs_variables()
    {
        var (w, id, commit) = await Project("ci1");
        var pipeline = await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"));
        var done = await w.Maintainer.WaitForPipeline(id, pipeline.Long("id"));
        var jobs = (await w.Maintainer.Get($"projects/{id}/pipelines/{pipeline.Long("id")}/jobs")).AsArray();

        Assert.Equal("push", pipeline.Str("source"));
        Assert.Equal("success", done.Str("status"));
        Assert.Equal(["build", "test"], jobs.Select(j => j!.Str("name")));
        Assert.All(jobs, j => Assert.Equal("success", j!.Str("status")));
        var buildLog = await w.Maintainer.Trace(id, jobs[0]!.Long("id"));
        Assert.True(buildLog.Contains($"build hello template from-include push {w.MaintainerName}"), buildLog);
        Assert.Contains("$ test -f README.md", buildLog);
        var testLog = await w.Maintainer.Trace(id, jobs[1]!.Long("id"));
        Assert.Contains($"test overridden-by-job  on {commit.Str("id")} in {w.Upstream.Str("path_with_namespace")}", testLog);
        Assert.True(jobs[0]!["finished_at"] is not null && jobs[1]!["started_at"] is not null);
        Assert.True(DateTimeOffset.Parse(jobs[0]!.Str("finished_at")) <= DateTimeOffset.Parse(jobs[1]!.Str("started_at")));
    }

    [Fact]
    public async Task Given_api_variables_When_a_pipeline_is_created_Then_they_override_the_yaml_and_a_failure_skips_nothing_after_it()
    {
        var (w, id, _) = await Project("ci2");
        var created = await w.Maintainer.Post($"projects/{id}/pipeline", new
        {
            @ref = "main",
            variables = new[] { new { key = "EXTRA", value = "from-api" }, new { key = "FAIL", value = "yes" } },
        });
        var done = await w.Maintainer.WaitForPipeline(id, created.Long("id"));
        var jobs = (await w.Maintainer.Get($"projects/{id}/pipelines/{created.Long("id")}/jobs")).AsArray();
        var variables = await w.Maintainer.Get($"projects/{id}/pipelines/{created.Long("id")}/variables");

        Assert.Equal("api", created.Str("source"));
        Assert.Equal("failed", done.Str("status"));
        Assert.Equal(["success", "failed"], jobs.Select(j => j!.Str("status")));
        Assert.Equal("script_failure", jobs[1]!.Str("failure_reason"));
        Assert.Contains("test overridden-by-job from-api", await w.Maintainer.Trace(id, jobs[1]!.Long("id")));
        Assert.Equal(["EXTRA=from-api", "FAIL=yes"], variables.AsArray().Select(v => $"{v!.Str("key")}={v!.Str("value")}"));

        var retried = await w.Maintainer.Post($"projects/{id}/pipelines/{created.Long("id")}/retry");
        Assert.Equal("failed", (await w.Maintainer.WaitForPipeline(id, retried.Long("id"))).Str("status"));
        var after = (await w.Maintainer.Get($"projects/{id}/pipelines/{created.Long("id")}/jobs")).AsArray();
        Assert.NotEqual(jobs[1]!.Long("id"), after[1]!.Long("id"));
        Assert.Equal(jobs[0]!.Long("id"), after[0]!.Long("id"));
    }

    [Fact]
    public async Task Given_a_failing_first_stage_When_the_pipeline_runs_Then_later_stages_are_skipped()
    {
        var (w, id, commit) = await Project("ci3", "build:\n  stage: build\n  script: [\"exit 3\"]\ntest:\n  stage: test\n  script: [\"echo never\"]\n");
        var done = await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));
        var jobs = (await w.Maintainer.Get($"projects/{id}/pipelines/{done.Long("id")}/jobs")).AsArray();
        Assert.Equal(["failed", "skipped"], jobs.Select(j => j!.Str("status")));
        Assert.Equal("failed", done.Str("status"));
    }

    [Fact]
    public async Task Given_a_blocking_manual_job_When_the_pipeline_reaches_it_Then_the_pipeline_sits_at_manual()
    {
        var (w, id, commit) = await Project("ci4", "build:\n  stage: build\n  script: [\"true\"]\ndeploy:\n  stage: test\n  when: manual\n  allow_failure: false\n  script: [\"true\"]\n");
        var done = await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));
        Assert.Equal("manual", done.Str("status"));
        Assert.Equal(["success", "manual"], (await w.Maintainer.Get($"projects/{id}/pipelines/{done.Long("id")}/jobs")).AsArray().Select(j => j!.Str("status")));
    }

    [Fact]
    public async Task Given_a_long_job_When_the_pipeline_is_cancelled_Then_the_job_is_killed_and_everything_reads_canceled()
    {
        var (w, id, commit) = await Project("ci5", "slow:\n  stage: build\n  script: [\"sleep 30\"]\nafter:\n  stage: test\n  script: [\"true\"]\n");
        var pipeline = await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"));
        await w.Maintainer.WaitFor($"projects/{id}/pipelines/{pipeline.Long("id")}", p => p.Str("status") == "running", TimeSpan.FromSeconds(10));

        await w.Maintainer.Post($"projects/{id}/pipelines/{pipeline.Long("id")}/cancel", expect: HttpStatusCode.OK);
        var done = await w.Maintainer.WaitForPipeline(id, pipeline.Long("id"));

        Assert.Equal("canceled", done.Str("status"));
        Assert.Equal(["canceled", "canceled"], (await w.Maintainer.Get($"projects/{id}/pipelines/{pipeline.Long("id")}/jobs")).AsArray().Select(j => j!.Str("status")));
        Assert.True((DateTimeOffset.Parse(done.Str("finished_at")) - DateTimeOffset.Parse(done.Str("created_at"))).TotalSeconds < 20);
    }

    [Fact]
    public async Task Given_skip_ci_When_a_commit_says_so_Then_no_pipeline_is_created()
    {
        var (w, id, _) = await Project("ci6");
        var skipped = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "Docs only [skip ci]", "docs.md", "d"));
        // The next push runs its pipeline: pushes are handled in order, so by then the skipped one would have had its own.
        var next = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "Code", "code.txt", "c"));
        await w.Maintainer.LatestPipeline(id, "main", next.Str("id"));
        Assert.Empty((await w.Maintainer.Get($"projects/{id}/pipelines?sha={skipped.Str("id")}")).AsArray());
    }

    [Fact]
    public async Task Given_a_broken_gitlab_ci_yml_When_created_through_the_api_Then_400_with_gitlabs_message()
    {
        var (w, id, _) = await Project("ci7", "job:\n  stage: nowhere\n  script: [true]\n");
        var error = await w.Maintainer.Post($"projects/{id}/pipeline", new { @ref = "main" }, HttpStatusCode.BadRequest);
        Assert.Contains("chosen stage nowhere does not exist", error.Str("message"));
    }
}
