using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Api.Rest;

/// <summary>
/// Who the API makes the bot act for, and that it acts only on merge requests GitLab knows: the orchestrator on real
/// PostgreSQL, asking the sandbox GitLab.
/// </summary>
public sealed class EnqueueTrustTests(SchemaFixture db, SandboxFixture sandbox)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private SandboxApi api = null!;
    private long project;

    public async Task InitializeAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        api = await SandboxApi.StartAsync(db, sandbox, suffix);
        project = await api.ProjectAsync("trust-" + suffix);
    }

    public async Task DisposeAsync() => await api.DisposeAsync();

    [Fact]
    public async Task Given_an_mr_GitLab_does_not_know_When_enqueued_Then_404_problem_and_nothing_is_recorded()
    {
        var client = api.As(OrchestratorApiFactory.MergeToken);

        var unknownMr = await client.PostAsJsonAsync($"/api/v1/projects/{project}/merge-requests/4242/merge", new { requestedBy = "ci" });
        var unknownProject = await client.PostAsync("/api/v1/projects/987654321/merge-requests/1/merge", null);

        await ProblemAssert.Is(unknownMr, HttpStatusCode.NotFound);
        await ProblemAssert.Is(unknownProject, HttpStatusCode.NotFound);
        await ProblemAssert.Is(await client.GetAsync($"/api/v1/projects/{project}/merge-requests/4242/events"), HttpStatusCode.NotFound);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/api/v1/projects/987654321/merge-requests")).GetArrayLength());
        Assert.DoesNotContain((await client.GetFromJsonAsync<JsonElement>($"/api/v1/projects/{project}/merge-requests")).EnumerateArray(),
            mr => mr.GetProperty("iid").GetInt64() == 4242);
    }

    [Fact]
    public async Task Given_an_mr_that_targets_another_project_When_enqueued_under_its_source_project_Then_404_problem_and_nothing_is_recorded()
    {
        var fork = await api.ForkAsync(project, "trust-fork-" + Guid.NewGuid().ToString("N")[..6]);
        var iid = await api.MergeRequestAsync(fork, project, "from-the-fork");
        var client = api.As(OrchestratorApiFactory.MergeToken);

        var response = await client.PostAsync($"/api/v1/projects/{fork}/merge-requests/{iid}/merge", null);

        await ProblemAssert.Is(response, HttpStatusCode.NotFound);
        await ProblemAssert.Is(await client.GetAsync($"/api/v1/projects/{fork}/merge-requests/{iid}/events"), HttpStatusCode.NotFound);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>($"/api/v1/projects/{fork}/merge-requests")).GetArrayLength());
    }

    [Fact]
    public async Task Given_GitLab_failing_When_enqueued_Then_503_problem_with_retry_after_and_nothing_is_recorded()
    {
        var iid = await api.MergeRequestAsync(project, project, "while-gitlab-fails");
        // More failures than the client's retries, so the lookup itself fails.
        await api.FailAsync($"/projects/{project}/merge_requests/{iid}$", count: 8);

        var response = await api.As(OrchestratorApiFactory.MergeToken).PostAsync($"/api/v1/projects/{project}/merge-requests/{iid}/merge", null);

        await ProblemAssert.Is(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        await ProblemAssert.Is(await api.As(OrchestratorApiFactory.ReadToken).GetAsync($"/api/v1/projects/{project}/merge-requests/{iid}/events"),
            HttpStatusCode.NotFound);
        await api.FailAsync("^$", count: 1);
    }

    [Fact]
    public async Task Given_a_token_acting_for_a_GitLab_user_When_it_enqueues_Then_the_merge_request_names_that_user_and_trigger_api()
    {
        var iid = await api.MergeRequestAsync(project, project, "for-a-user");
        var client = api.As(SandboxApi.UserToken);

        var response = await client.PostAsJsonAsync($"/api/v1/projects/{project}/merge-requests/{iid}/merge", new { requestedBy = "release script" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var requester = await RequesterOf(client, iid);
        Assert.Equal("Api", requester.GetProperty("trigger").GetString());
        Assert.Equal(api.Maintainer["username"]!.GetValue<string>(), requester.GetProperty("username").GetString());
        Assert.Equal(api.Maintainer["id"]!.GetValue<long>(), requester.GetProperty("userId").GetInt64());
        Assert.Equal("release script", requester.GetProperty("label").GetString());
    }

    [Fact]
    public async Task Given_a_token_on_its_own_authority_When_it_enqueues_and_cancels_Then_the_token_is_the_requester_and_the_canceller()
    {
        var iid = await api.MergeRequestAsync(project, project, "for-the-token");
        var client = api.As(SandboxApi.OwnToken);

        var enqueued = await client.PostAsync($"/api/v1/projects/{project}/merge-requests/{iid}/merge", null);
        var cancelled = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/projects/{project}/merge-requests/{iid}/merge")
        {
            Content = JsonContent.Create(new { reason = "release freeze" }),
        });

        Assert.Equal(HttpStatusCode.Accepted, enqueued.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var requester = await RequesterOf(client, iid);
        Assert.Equal("Api", requester.GetProperty("trigger").GetString());
        Assert.Equal(JsonValueKind.Null, requester.GetProperty("username").ValueKind);
        Assert.Equal(SandboxApi.OwnTokenName, requester.GetProperty("label").GetString());
        var events = await client.GetFromJsonAsync<JsonElement>($"/api/v1/projects/{project}/merge-requests/{iid}/events");
        var cancel = events.EnumerateArray().Single(e => e.GetProperty("type").GetString() == "attempt_cancelled").GetProperty("data");
        Assert.Equal($"token {SandboxApi.OwnTokenName}", cancel.GetProperty("cancelledBy").GetString());
        Assert.Equal("release freeze", cancel.GetProperty("reason").GetString());
    }

    private async Task<JsonElement> RequesterOf(HttpClient client, long iid)
    {
        var events = await client.GetFromJsonAsync<JsonElement>($"/api/v1/projects/{project}/merge-requests/{iid}/events");
        var requested = events.EnumerateArray().First();
        Assert.Equal("merge_requested", requested.GetProperty("type").GetString());
        return requested.GetProperty("data").GetProperty("requester");
    }
}
