using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Sandbox;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>The sandbox with one runner (<c>Sandbox:Ci:Runners = 1</c>) for the whole instance.</summary>
public sealed class OneRunnerHost : IAsyncLifetime
{
    private LoopbackSandbox? sandbox;

    public HttpClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        sandbox = await LoopbackSandbox.StartAsync(SandboxHost.AdminToken, new Dictionary<string, string?> { ["Sandbox:Ci:Runners"] = "1" });
        Admin = new HttpClient { BaseAddress = new Uri(new Uri(sandbox.BaseUrl), "/api/v4/") };
        Admin.DefaultRequestHeaders.Add("PRIVATE-TOKEN", SandboxHost.AdminToken);
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        if (sandbox is not null) await sandbox.DisposeAsync();
    }
}

/// <summary>Jobs of one stage run together, on a pool of runners shared by every pipeline, as on GitLab.</summary>
public sealed class RunnerPoolTests(SandboxHost host, OneRunnerHost oneRunner) : IClassFixture<SandboxHost>, IClassFixture<OneRunnerHost>
{
    private const string TwoSlowJobsInOneStage = "stages: [test]\na:\n  stage: test\n  script: [\"sleep 2\"]\nb:\n  stage: test\n  script: [\"sleep 2\"]\n";

    private static async Task<(JsonNode Pipeline, JsonArray Jobs)> Run(HttpClient client, string name, string config)
    {
        var project = await client.Post("projects", new { name, initialize_with_readme = true });
        var id = project.Long("id");
        var commit = await client.Post($"projects/{id}/repository/commits", Files.Commit("main", "Add CI",
            new Dictionary<string, string> { [".gitlab-ci.yml"] = config }));
        var done = await client.WaitForPipeline(id, (await client.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));
        return (done, (await client.Get($"projects/{id}/pipelines/{done.Long("id")}/jobs")).AsArray());
    }

    private static DateTimeOffset At(JsonNode? node, string key) => DateTimeOffset.Parse(node!.Str(key));

    [Fact]
    public async Task Given_two_jobs_in_one_stage_When_runners_are_free_Then_they_run_at_the_same_time()
    {
        var (pipeline, jobs) = await Run(host.Client(), "pool-parallel", TwoSlowJobsInOneStage);

        Assert.Equal("success", pipeline.Str("status"));
        Assert.True(At(jobs[0], "started_at") < At(jobs[1], "finished_at") && At(jobs[1], "started_at") < At(jobs[0], "finished_at"),
            jobs.ToJsonString());
    }

    [Fact]
    public async Task Given_two_pipelines_of_one_project_When_runners_are_free_Then_they_run_at_the_same_time()
    {
        var client = host.Client();
        var (first, _) = await Run(client, "pool-pipelines", "slow:\n  script: [\"sleep 2\"]\n");
        var id = first.Long("project_id");

        var second = await client.Post($"projects/{id}/pipeline", new { @ref = "main" });
        var third = await client.Post($"projects/{id}/pipeline", new { @ref = "main" });
        var (a, b) = (await client.WaitForPipeline(id, second.Long("id")), await client.WaitForPipeline(id, third.Long("id")));

        Assert.Equal(["success", "success"], new[] { a.Str("status"), b.Str("status") });
        Assert.True(At(a, "started_at") < At(b, "finished_at") && At(b, "started_at") < At(a, "finished_at"),
            new JsonArray(a.DeepClone(), b.DeepClone()).ToJsonString());
    }

    [Fact]
    public async Task Given_one_runner_When_two_jobs_of_one_stage_are_ready_Then_one_waits_for_the_other()
    {
        var (pipeline, jobs) = await Run(oneRunner.Admin, "pool-one", TwoSlowJobsInOneStage);

        Assert.Equal("success", pipeline.Str("status"));
        var (first, second) = At(jobs[0], "started_at") <= At(jobs[1], "started_at") ? (jobs[0], jobs[1]) : (jobs[1], jobs[0]);
        Assert.True(At(second, "started_at") >= At(first, "finished_at"), jobs.ToJsonString());
    }

    [Fact]
    public async Task Given_a_job_that_fails_beside_a_slower_one_When_the_stage_runs_Then_the_pipeline_fails_only_once_both_ended()
    {
        var (pipeline, jobs) = await Run(host.Client(), "pool-sibling",
            "stages: [test, after]\nquick:\n  stage: test\n  script: [\"exit 1\"]\nslow:\n  stage: test\n  script: [\"sleep 2\"]\nlater:\n  stage: after\n  script: [\"true\"]\n");

        Assert.Equal("failed", pipeline.Str("status"));
        Assert.Equal(["failed", "success", "skipped"], jobs.Select(j => j!.Str("status")));
        Assert.True(At(pipeline, "finished_at") >= At(jobs[1], "finished_at"), pipeline.ToJsonString());
    }
}
