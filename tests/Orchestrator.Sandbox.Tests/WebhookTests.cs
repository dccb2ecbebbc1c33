using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Contract;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Webhook deliveries: GitLab's payloads and headers, retries, disabling, and the fault switches.</summary>
public sealed class WebhookTests(SandboxHost host, ITestOutputHelper output) : IClassFixture<SandboxHost>
{
    private const string Ci = "build:\n  stage: build\n  script: [\"echo hi\"]\n";

    private static async Task<JsonNode> Hook(World w, long project, string url, string token) =>
        await w.Maintainer.Post($"projects/{project}/hooks", new
        {
            url, token, push_events = true, merge_requests_events = true, pipeline_events = true, job_events = true, note_events = true,
        });

    [Fact]
    public async Task Given_a_project_hook_When_gitlab_events_happen_Then_each_delivery_matches_the_fixture_with_our_values_and_headers()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "hooks1");
        var id = w.Upstream.Long("id");
        var hook = await Hook(w, id, receiver.Url, "s3cret-hook-token");

        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", Files.Commit("feature", "Add CI",
            new Dictionary<string, string> { [".gitlab-ci.yml"] = Ci }, startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "feature", target_branch = "main", title = "Hooks", labels = "ci" });
        var note = await w.Contributor.Post($"projects/{id}/merge_requests/{mr.Long("iid")}/notes", new { body = "/merge please" });
        var pipeline = await w.Maintainer.LatestPipeline(id, "feature", commit.Str("id"));
        await w.Maintainer.WaitForPipeline(id, pipeline.Long("id"));

        var push = await receiver.WaitFor(h => h.Event == "Push Hook");
        var opened = await receiver.WaitFor(h => h.Event == "Merge Request Hook");
        var noted = await receiver.WaitFor(h => h.Event == "Note Hook");
        var finished = await receiver.WaitFor(h => h.Event == "Pipeline Hook" && h.Body["object_attributes"]!.Str("status") == "success");
        var job = await receiver.WaitFor(h => h.Event == "Job Hook" && h.Body.Str("build_status") == "success");

        // One commit that only adds a file: GitLab sends empty `modified` and `removed` lists for it.
        Matches("push.json", push.Body, "$.commits[].modified[]", "$.commits[].removed[]");
        Assert.Equal(1, push.Body.Long("total_commits_count"));
        // Nulls GitLab itself sends here: no milestone, default CI config path, project labels (no group, no description),
        // and attributes that an opening changes from nothing.
        string[] labelNulls = ["$.labels[].description", "$.labels[].group_id", "$.object_attributes.labels[].description", "$.object_attributes.labels[].group_id",
            "$.changes.labels.current[].description", "$.changes.labels.current[].group_id"];
        Matches("merge_request.open.json", opened.Body, [.. labelNulls, "$.object_attributes.milestone_id", "$.project.ci_config_path",
            "$.object_attributes.source.ci_config_path", "$.object_attributes.target.ci_config_path", "$.changes.draft.previous",
            "$.changes.updated_by_id.previous", "$.changes.labels.previous[]", "$.changes.last_edited_at.previous",
            "$.changes.last_edited_by_id.previous", "$.changes.updated_at.previous", "$.object_attributes.human_total_time_spent",
            "$.object_attributes.human_time_change", "$.object_attributes.human_time_estimate", "$.assignees", "$.reviewers",
            "$.object_attributes.assignee_ids[]", "$.object_attributes.reviewer_ids[]", "$.object_attributes.assignee_id"]);
        Matches("note.merge_request.json", noted.Body, "$.merge_request.milestone_id", "$.merge_request.assignee_id", "$.merge_request.assignee",
            "$.project.ci_config_path", "$.merge_request.labels[].description", "$.merge_request.labels[].group_id",
            "$.merge_request.source.ci_config_path", "$.merge_request.target.ci_config_path");
        Matches("pipeline.json", finished.Body, "$.merge_request", "$.source_pipeline", "$.object_attributes.name",
            "$.object_attributes.variables", "$.builds[].runner", "$.builds[].environment");
        Matches("job.json", job.Body, "$.source_pipeline", "$.commit.name");

        Assert.Equal(commit.Str("id"), push.Body.Str("after"));
        Assert.Equal("refs/heads/feature", push.Body.Str("ref"));
        Assert.Equal("Add CI", push.Body["commits"]![0]!.Str("title"));
        Assert.Equal([".gitlab-ci.yml"], push.Body["commits"]![0]!["added"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal("open", opened.Body["object_attributes"]!.Str("action"));
        Assert.Equal(mr.Long("iid"), opened.Body["object_attributes"]!.Long("iid"));
        Assert.Equal("ci", opened.Body["labels"]![0]!.Str("title"));
        Assert.Equal(commit.Str("id"), opened.Body["object_attributes"]!["last_commit"]!.Str("id"));
        Assert.Equal("/merge please", noted.Body["object_attributes"]!.Str("note"));
        Assert.Equal(note.Long("id"), noted.Body["object_attributes"]!.Long("id"));
        Assert.Equal(pipeline.Long("id"), finished.Body["object_attributes"]!.Long("id"));
        Assert.Equal(commit.Str("id"), finished.Body["object_attributes"]!.Str("sha"));
        Assert.Equal("build", job.Body.Str("build_name"));
        Assert.Equal(pipeline.Long("id"), job.Body.Long("pipeline_id"));

        foreach (var delivery in new[] { push, opened, noted, finished, job })
        {
            Assert.Equal("s3cret-hook-token", delivery.Headers["X-Gitlab-Token"]);
            Assert.StartsWith("GitLab/", delivery.Headers["User-Agent"]);
            Assert.Equal(host.BaseUrl.ToString().TrimEnd('/'), delivery.Headers["X-Gitlab-Instance"]);
            Assert.True(Guid.TryParse(delivery.Headers["X-Gitlab-Event-UUID"], out _));
            Assert.True(Guid.TryParse(delivery.Headers["Idempotency-Key"], out _));
            Assert.True(Guid.TryParse(delivery.Headers["X-Gitlab-Webhook-UUID"], out _));
        }
        Assert.Single(receiver.Received.Select(r => r.Headers["X-Gitlab-Webhook-UUID"]).Distinct());
        Assert.Equal(receiver.Received.Count, receiver.Received.Select(r => r.Headers["X-Gitlab-Event-UUID"]).Distinct().Count());
        Assert.Equal("executable", (await w.Maintainer.Get($"projects/{id}/hooks/{hook.Long("id")}")).Str("alert_status"));
    }

    [Fact]
    public async Task Given_a_failing_receiver_When_deliveries_fail_Then_they_are_retried_with_the_same_key_and_the_hook_is_disabled_after_four()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "hooks2");
        var id = w.Upstream.Long("id");
        var hook = await Hook(w, id, receiver.Url, "t");
        var calls = 0;
        receiver.Answer = _ => Interlocked.Increment(ref calls) == 1 ? 500 : 200;

        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "one", "a.txt", "a"));
        var first = await receiver.WaitFor(_ => true);
        var retried = await receiver.WaitFor(r => r != first, TimeSpan.FromSeconds(10));
        Assert.Equal(first.Headers["Idempotency-Key"], retried.Headers["Idempotency-Key"]);
        Assert.Equal(first.Headers["X-Gitlab-Event-UUID"], retried.Headers["X-Gitlab-Event-UUID"]);

        // A 4xx four times running disables the hook for good; nothing more is delivered.
        receiver.Answer = _ => 404;
        for (var i = 0; i < 4; i++)
            await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", $"c{i}", $"c{i}.txt", "c"));
        await w.Maintainer.WaitFor($"projects/{id}/hooks/{hook.Long("id")}", h => h.Str("alert_status") == "disabled", TimeSpan.FromSeconds(20));
        var count = receiver.Received.Count;
        // A hook added now gets the next push: the sandbox hands an event to its hooks in the order they were added, so
        // once this one has it, the disabled hook had its chance (its lane sends nothing, the control's makes a request).
        await using var control = await HookReceiver.StartAsync();
        await Hook(w, id, control.Url, "t");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "after", "z.txt", "z"));
        await control.WaitFor(r => r.Event == "Push Hook");
        Assert.Equal(count, receiver.Received.Count);
    }

    [Fact]
    public async Task Given_fault_switches_When_deliveries_leave_Then_they_are_dropped_duplicated_and_reordered_on_demand()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "hooks3");
        var id = w.Upstream.Long("id");
        await Hook(w, id, receiver.Url, "t");

        await w.Admin.Put("/-/sandbox/faults", new { drop_deliveries = 1, duplicate_deliveries = 1 }, HttpStatusCode.NoContent);
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "dropped", "d.txt", "d"));
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "twice", "t.txt", "t"));
        // Both copies of the second push: the first push went down the same lane before it, so it was dropped by then.
        await receiver.WaitFor(_ => receiver.Received.Count(r => r.Body["commits"]?[0]?["title"]?.GetValue<string>() == "twice") == 2);
        var titles = receiver.Received.Select(r => r.Body["commits"]![0]!.Str("title")).ToList();
        Assert.Equal(["twice", "twice"], titles);
        Assert.Single(receiver.Received.Select(r => r.Headers["Idempotency-Key"]).Distinct());

        await w.Admin.Put("/-/sandbox/faults", new { reorder_batch = 3 }, HttpStatusCode.NoContent);
        while (receiver.Received.TryDequeue(out _)) { }
        var burst = new List<string>();
        for (var i = 0; i < 3; i++)
            burst.Add((await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", $"r{i}", $"r{i}.txt", "r"))).Str("id"));
        await receiver.WaitFor(_ => receiver.Received.Count >= 3);
        Assert.Equal(burst.AsEnumerable().Reverse(), receiver.Received.Select(r => r.Body.Str("after")));
        await w.Admin.Put("/-/sandbox/faults", new { }, HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Given_a_route_fault_When_called_Then_5xx_and_429_with_retry_after_for_the_chosen_count_only()
    {
        var w = await World.CreateAsync(host, "faults1");
        var id = w.Upstream.Long("id");
        await w.Admin.Put("/-/sandbox/faults", new
        {
            routes = new object[]
            {
                new { method = "GET", path = $"^/api/v4/projects/{id}$", status = 503, count = 2 },
                new { method = "GET", path = $"^/api/v4/projects/{id}/repository/branches$", status = 429, retry_after = 7, count = 1 },
            },
        }, HttpStatusCode.NoContent);

        await w.Maintainer.Get($"projects/{id}", HttpStatusCode.ServiceUnavailable);
        await w.Maintainer.Get($"projects/{id}", HttpStatusCode.ServiceUnavailable);
        Assert.Equal(id, (await w.Maintainer.Get($"projects/{id}")).Long("id"));
        using var limited = await w.Maintainer.GetAsync($"projects/{id}/repository/branches");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), limited.Headers.RetryAfter?.Delta);
        await w.Maintainer.Get($"projects/{id}/repository/branches");
        await w.Admin.Put("/-/sandbox/faults", new { }, HttpStatusCode.NoContent);
    }

    private void Matches(string fixture, JsonNode actual, params string[] nullable)
    {
        var problems = Shape.Differences(Fixtures.GitLabWebhook(fixture), actual, new HashSet<string>(nullable));
        foreach (var p in problems) output.WriteLine($"{fixture}: {p}");
        Assert.Empty(problems);
    }
}
