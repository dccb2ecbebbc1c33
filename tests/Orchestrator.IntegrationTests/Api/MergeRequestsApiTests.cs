using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Api.Rest;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Api;

public sealed class MergeRequestsApiTests(SchemaFixture db) : IClassFixture<SchemaFixture>, IAsyncLifetime
{
    private const string AliceToken = "token-acting-for-alice";
    private OrchestratorApiFactory factory = null!;
    private HttpClient client = null!;

    public Task InitializeAsync()
    {
        // Tokens 0-3 are the factory's; this one acts for a GitLab user.
        factory = new OrchestratorApiFactory(db.Schema, new Dictionary<string, string?>
        {
            ["Orchestrator:Api:Tokens:4:Name"] = "for-alice",
            ["Orchestrator:Api:Tokens:4:Sha256"] = global::Orchestrator.Api.Security.ApiTokens.Hash(AliceToken),
            ["Orchestrator:Api:Tokens:4:Scopes:0"] = "merge",
            ["Orchestrator:Api:Tokens:4:Scopes:1"] = "read",
            ["Orchestrator:Api:Tokens:4:GitLabUser"] = "alice",
        });
        client = factory.ClientWith(OrchestratorApiFactory.MergeToken);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await factory.DisposeAsync();

    [Fact]
    public async Task Given_a_new_merge_request_When_enqueued_Then_202_and_the_events_show_the_request()
    {
        var response = await client.PostAsJsonAsync("/api/v1/projects/42/merge-requests/7/merge", new { requestedBy = "marge-bot" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("queued", body.GetProperty("state").GetString());
        Assert.Equal(1, body.GetProperty("attempt").GetInt32());
        Assert.Equal("marge-bot", body.GetProperty("requestedBy").GetString());

        var events = await client.GetFromJsonAsync<JsonElement>("/api/v1/projects/42/merge-requests/7/events");
        var only = Assert.Single(events.EnumerateArray());
        Assert.Equal(1, only.GetProperty("version").GetInt64());
        Assert.Equal("merge_requested", only.GetProperty("type").GetString());
        Assert.Equal("marge-bot", only.GetProperty("data").GetProperty("requestedBy").GetString());
        Assert.True(only.TryGetProperty("at", out _));
    }

    [Fact]
    public async Task Given_a_sha_in_the_request_When_enqueued_Then_merge_requested_pins_that_head_as_the_api_s()
    {
        const string sha = "0123456789abcdef0123456789abcdef01234567";
        (await client.PostAsJsonAsync("/api/v1/projects/42/merge-requests/8/merge", new { sha = sha.ToUpperInvariant() })).EnsureSuccessStatusCode();

        var requested = (await client.GetFromJsonAsync<JsonElement>("/api/v1/projects/42/merge-requests/8/events")).EnumerateArray().First();
        var head = requested.GetProperty("data").GetProperty("head");
        Assert.Equal((sha, "api"), (head.GetProperty("sha").GetString(), head.GetProperty("seen").GetString()));
    }

    [Fact]
    public async Task Given_no_GitLab_When_a_token_acting_for_a_user_enqueues_and_cancels_Then_that_user_is_recorded_without_an_id()
    {
        var alice = factory.ClientWith(AliceToken);

        var enqueued = await alice.PostAsJsonAsync("/api/v1/projects/42/merge-requests/17/merge", new { requestedBy = "release script" });
        await alice.DeleteAsync("/api/v1/projects/42/merge-requests/17/merge");

        Assert.Equal(HttpStatusCode.Accepted, enqueued.StatusCode);
        var events = (await alice.GetFromJsonAsync<JsonElement>("/api/v1/projects/42/merge-requests/17/events")).EnumerateArray().ToList();
        var requester = events[0].GetProperty("data").GetProperty("requester");
        Assert.Equal(("Api", "alice", JsonValueKind.Null, "release script"), (requester.GetProperty("trigger").GetString(),
            requester.GetProperty("username").GetString(), requester.GetProperty("userId").ValueKind, requester.GetProperty("label").GetString()));
        Assert.Equal("@alice (token for-alice)", events[^1].GetProperty("data").GetProperty("cancelledBy").GetString());
    }

    [Fact]
    public async Task Given_an_active_attempt_When_enqueued_again_Then_200_with_the_same_attempt_and_no_new_event()
    {
        await client.PostAsync("/api/v1/projects/42/merge-requests/8/merge", null);
        var again = await client.PostAsync("/api/v1/projects/42/merge-requests/8/merge", null);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var state = await client.GetFromJsonAsync<JsonElement>("/api/v1/projects/42/merge-requests/8");
        Assert.Equal((1, 1), (state.GetProperty("attempt").GetInt32(), state.GetProperty("version").GetInt32()));
    }

    [Fact]
    public async Task Given_a_cancelled_attempt_When_enqueued_Then_attempt_two_starts()
    {
        await client.PostAsync("/api/v1/projects/42/merge-requests/9/merge", null);
        var cancel = await client.DeleteAsync("/api/v1/projects/42/merge-requests/9/merge");
        Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());

        var next = await client.PostAsync("/api/v1/projects/42/merge-requests/9/merge", null);

        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
        Assert.Equal(2, (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task Given_an_unknown_merge_request_When_read_Then_404_problem()
    {
        var response = await client.GetAsync("/api/v1/projects/42/merge-requests/999");
        await ProblemAssert.Is(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("POST", "/api/v1/projects/abc/merge-requests/1/merge", null, "application/json", HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/v1/projects/group%2Fnowhere/merge-requests/1/merge", null, "application/json", HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/v1/projects/-1/merge-requests/3/merge", null, "application/json", HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/-3/merge", null, "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/0/merge", null, "application/json", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/api/v1/projects/1/merge-requests/1x", null, null, HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "{\"requestedBy\": ", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "[1,2]", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "{\"requestedBy\": 5}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "{\"unexpected\": true}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "requestedBy=x", "application/x-www-form-urlencoded", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "{\"requestedBy\": \"@root\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "{\"sha\": \"abc123\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/5/merge", "{\"requestedBy\": \"a\\nb\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("DELETE", "/api/v1/projects/1/merge-requests/5/merge", "{\"reason\": [\"x\"]}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/projects/1/merge-requests/9223372036854775808/merge", null, null, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/api/v1/projects/1/merge-requests?page=abc", null, null, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/api/v1/projects/1/merge-requests?per_page=1.5", null, null, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/api/v1/projects/1/merge-requests?state=queued&state=failed", null, null, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/api/v1/no-such-route", null, null, HttpStatusCode.NotFound)]
    [InlineData("PATCH", "/api/v1/projects/1/merge-requests/5/merge", null, null, HttpStatusCode.MethodNotAllowed)]
    public async Task Given_bad_input_When_sent_Then_a_4xx_problem_and_nothing_is_written(
        string method, string path, string? body, string? contentType, HttpStatusCode expected)
    {
        var before = await db.CountEventsAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, contentType!);

        var response = await client.SendAsync(request);

        await ProblemAssert.Is(response, expected);
        Assert.Equal(before, await db.CountEventsAsync());
    }

    [Fact]
    public async Task Given_an_oversized_body_When_sent_Then_413_problem_and_nothing_is_written()
    {
        var before = await db.CountEventsAsync();
        var huge = JsonSerializer.Serialize(new { requestedBy = new string('x', 100_000) });

        var response = await client.PostAsync("/api/v1/projects/1/merge-requests/6/merge",
            new StringContent(huge, Encoding.UTF8, "application/json"));

        await ProblemAssert.Is(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await db.CountEventsAsync());
    }

    [Theory]
    [InlineData(null, "GET", "/api/v1/projects/1/merge-requests/1", HttpStatusCode.Unauthorized)]
    [InlineData("not-a-token", "GET", "/api/v1/projects/1/merge-requests/1", HttpStatusCode.Unauthorized)]
    [InlineData(OrchestratorApiFactory.ReadToken, "POST", "/api/v1/projects/1/merge-requests/1/merge", HttpStatusCode.Forbidden)]
    [InlineData(OrchestratorApiFactory.MergeToken, "PUT", "/api/v1/projects/1/policy", HttpStatusCode.Forbidden)]
    [InlineData(OrchestratorApiFactory.Project42Token, "POST", "/api/v1/projects/43/merge-requests/1/merge", HttpStatusCode.Forbidden)]
    [InlineData(null, "DELETE", "/api/v1/projects/1/merge-requests/1/merge", HttpStatusCode.Unauthorized)]
    public async Task Given_no_valid_token_or_scope_When_calling_Then_401_or_403_problem_and_nothing_is_written(
        string? token, string method, string path, HttpStatusCode expected)
    {
        var before = await db.CountEventsAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "PUT") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");

        var response = await factory.ClientWith(token).SendAsync(request);

        await ProblemAssert.Is(response, expected);
        Assert.Equal(before, await db.CountEventsAsync());
    }

    [Fact]
    public async Task Given_scoped_tokens_When_used_within_their_scope_Then_they_work()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await factory.ClientWith(OrchestratorApiFactory.Project42Token).PostAsync("/api/v1/projects/42/merge-requests/70/merge", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.ClientWith(OrchestratorApiFactory.ReadToken).GetAsync("/api/v1/projects/42/merge-requests/70")).StatusCode);
        var policy = new StringContent("{\"images\":[],\"maxRebases\":2,\"triggerLabel\":\"merge-me\"}", Encoding.UTF8, "application/json");
        var put = await factory.ClientWith(OrchestratorApiFactory.AdminToken).PutAsync("/api/v1/projects/42/policy", policy);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var read = await factory.ClientWith(OrchestratorApiFactory.ReadToken).GetFromJsonAsync<JsonElement>("/api/v1/projects/42/policy");
        Assert.Equal((2, 60, "merge-me"), (read.GetProperty("maxRebases").GetInt32(), read.GetProperty("ciTimeoutMinutes").GetInt32(), read.GetProperty("triggerLabel").GetString()));
        var invalid = await factory.ClientWith(OrchestratorApiFactory.AdminToken).PutAsync("/api/v1/projects/42/policy",
            new StringContent("{\"maxRebases\":-1}", Encoding.UTF8, "application/json"));
        await ProblemAssert.Is(invalid, HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task Given_workflows_When_listed_and_queues_read_Then_they_come_back_by_state_with_paging()
    {
        for (var iid = 80; iid < 83; iid++) await client.PostAsync($"/api/v1/projects/43/merge-requests/{iid}/merge", null);
        await client.DeleteAsync("/api/v1/projects/43/merge-requests/82/merge");

        var queued = await client.GetAsync("/api/v1/projects/43/merge-requests?state=queued&per_page=1");
        var page = await queued.Content.ReadFromJsonAsync<JsonElement>();
        var cancelled = await client.GetFromJsonAsync<JsonElement>("/api/v1/projects/43/merge-requests?state=cancelled");
        var queue = await client.GetFromJsonAsync<JsonElement>("/api/v1/projects/43/queues/main");

        Assert.Equal("2", queued.Headers.GetValues("x-total").Single());
        Assert.Equal(1, page.GetArrayLength());
        Assert.Equal(82, cancelled.EnumerateArray().Single().GetProperty("iid").GetInt64());
        Assert.Equal("main", queue.GetProperty("targetBranch").GetString());
        await ProblemAssert.Is(await client.GetAsync("/api/v1/projects/43/merge-requests?state=bogus"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Given_the_openapi_document_When_read_Then_it_describes_every_api_route()
    {
        var doc = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var documented = doc.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name.TrimEnd('/')}")).ToHashSet();
        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            // The operations page and its script and style are a page, not API.
            .Where(e => e.RoutePattern.RawText is { } raw && !raw.StartsWith("/openapi") && raw != "/ops" && !raw.StartsWith("/ops/"))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} /{e.RoutePattern.RawText!.Trim('/')}".TrimEnd('/')))
            .ToHashSet();
        Assert.NotEmpty(routes);
        Assert.Empty(routes.Except(documented));
        Assert.Contains("POST /api/v1/projects/{projectId}/merge-requests/{iid}/merge", documented);
        Assert.Contains("POST /webhooks/gitlab", documented);
        Assert.Contains("GET /api/v1/ops/overview", documented);
        Assert.Contains("GET /api/v1/projects/{projectId}/merge-requests/{iid}/timeline", documented);
    }

    [Fact]
    public async Task Given_the_service_When_health_is_asked_Then_ok()
    {
        var health = await factory.ClientWith(null).GetFromJsonAsync<JsonElement>("/healthz");
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }
}
