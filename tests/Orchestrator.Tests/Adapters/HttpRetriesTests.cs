using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Orchestrator.Adapters;
using Polly;
using Xunit;
using static Orchestrator.Tests.Adapters.ScriptedGitLab;

namespace Orchestrator.Tests.Adapters;

/// <summary>
/// The retry rules of every GitLab and registry call: safe methods retried on 5xx, timeouts and transport errors with
/// exponential backoff; any method after 429, as long as Retry-After says (capped); a POST never repeated otherwise.
/// </summary>
public sealed class HttpRetriesTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(200);
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly RecordingClock clock = new(Now);

    private HttpClient Client(ScriptedGitLab gitlab)
    {
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = clock }.AddRetry(HttpRetries.Strategy(Base, clock)).Build();
        return new HttpClient(new ResilienceHandler(pipeline) { InnerHandler = gitlab }) { BaseAddress = new Uri("http://gitlab.test/api/v4/") };
    }

    private static HttpRequestMessage Request(string method, object? body = null) =>
        new(new HttpMethod(method), "projects/1/merge_requests/2") { Content = body is null ? null : JsonContent.Create(body) };

    [Theory]
    [InlineData("GET", HttpStatusCode.ServiceUnavailable)]
    [InlineData("HEAD", HttpStatusCode.BadGateway)]
    [InlineData("PUT", HttpStatusCode.InternalServerError)]
    [InlineData("DELETE", HttpStatusCode.GatewayTimeout)]
    public async Task Given_a_safe_method_answered_5xx_twice_When_sent_Then_it_is_retried_with_doubling_backoff_and_succeeds(string method, HttpStatusCode status)
    {
        var gitlab = new ScriptedGitLab(Status(status), Status(status));

        var response = await Client(gitlab).SendAsync(Request(method));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, gitlab.Sent.Count);
        Assert.Equal([Base, Base * 2], clock.Waits);
    }

    [Fact]
    public async Task Given_a_get_failing_every_time_When_sent_Then_it_is_sent_four_times_and_the_last_answer_returned()
    {
        var gitlab = new ScriptedGitLab(Status(HttpStatusCode.ServiceUnavailable), Status(HttpStatusCode.ServiceUnavailable),
            Status(HttpStatusCode.ServiceUnavailable), Status(HttpStatusCode.BadGateway), Status(HttpStatusCode.OK));

        var response = await Client(gitlab).SendAsync(Request("GET"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1 + HttpRetries.MaxRetries, gitlab.Sent.Count);
        Assert.Equal([Base, Base * 2, Base * 4], clock.Waits);
    }

    [Fact]
    public async Task Given_a_post_answered_503_When_sent_Then_it_is_sent_once_and_the_503_returned()
    {
        var gitlab = new ScriptedGitLab(Status(HttpStatusCode.ServiceUnavailable));

        var response = await Client(gitlab).SendAsync(Request("POST", new { @ref = "main" }));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(gitlab.Sent);
        Assert.Empty(clock.Waits);
    }

    [Fact]
    public async Task Given_a_post_whose_connection_fails_When_sent_Then_it_is_not_repeated_and_the_error_surfaces()
    {
        var gitlab = new ScriptedGitLab(Throws(new HttpRequestException("connection reset")));

        await Assert.ThrowsAsync<HttpRequestException>(() => Client(gitlab).SendAsync(Request("POST", new { @ref = "main" })));

        Assert.Single(gitlab.Sent);
    }

    [Fact]
    public async Task Given_a_get_whose_connection_fails_then_times_out_When_sent_Then_it_is_retried_until_answered()
    {
        var gitlab = new ScriptedGitLab(Throws(new HttpRequestException("connection refused")), Throws(new TaskCanceledException("timed out below")));

        var response = await Client(gitlab).SendAsync(Request("GET"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, gitlab.Sent.Count);
    }

    [Fact]
    public async Task Given_a_get_the_caller_cancels_When_sent_Then_it_is_not_retried()
    {
        using var caller = new CancellationTokenSource();
        var gitlab = new ScriptedGitLab(_ =>
        {
            caller.Cancel();
            throw new TaskCanceledException("the caller gave up");
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client(gitlab).SendAsync(Request("GET"), caller.Token));

        Assert.Single(gitlab.Sent);
    }

    [Theory]
    [InlineData("GET", HttpStatusCode.NotFound)]
    [InlineData("PUT", HttpStatusCode.Conflict)]
    [InlineData("PUT", HttpStatusCode.UnprocessableEntity)]
    public async Task Given_a_4xx_other_than_429_When_sent_Then_it_is_returned_at_once(string method, HttpStatusCode status)
    {
        var gitlab = new ScriptedGitLab(Status(status));

        var response = await Client(gitlab).SendAsync(Request(method));

        Assert.Equal(status, response.StatusCode);
        Assert.Single(gitlab.Sent);
    }

    [Fact]
    public async Task Given_a_post_answered_429_with_retry_after_When_sent_Then_it_is_sent_again_with_its_body_after_the_wait()
    {
        var gitlab = new ScriptedGitLab(TooManyRequests(h => h.RetryAfter = new(TimeSpan.FromSeconds(7))));

        var response = await Client(gitlab).SendAsync(Request("POST", new { @ref = "main" }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, gitlab.Sent.Count);
        Assert.All(gitlab.Sent, s => Assert.Equal("""{"ref":"main"}""", s.Body));
        Assert.Equal([TimeSpan.FromSeconds(7)], clock.Waits);
    }

    [Fact]
    public async Task Given_a_429_whose_retry_after_is_a_date_When_sent_Then_it_waits_until_that_date()
    {
        var gitlab = new ScriptedGitLab(TooManyRequests(h => h.RetryAfter = new(Now.AddSeconds(12))));

        await Client(gitlab).SendAsync(Request("GET"));

        Assert.Equal([TimeSpan.FromSeconds(12)], clock.Waits);
    }

    [Fact]
    public async Task Given_a_429_asking_for_an_hour_When_sent_Then_it_waits_no_longer_than_the_cap()
    {
        var gitlab = new ScriptedGitLab(TooManyRequests(h => h.RetryAfter = new(TimeSpan.FromHours(1))));

        await Client(gitlab).SendAsync(Request("PUT"));

        Assert.Equal([HttpRetries.RetryAfterCap], clock.Waits);
    }

    [Fact]
    public async Task Given_a_429_whose_retry_after_date_has_passed_When_sent_Then_it_is_retried_at_once()
    {
        var gitlab = new ScriptedGitLab(TooManyRequests(h => h.RetryAfter = new(Now.AddSeconds(-5))));

        await Client(gitlab).SendAsync(Request("POST"));

        Assert.Equal(2, gitlab.Sent.Count);
        Assert.All(clock.Waits, w => Assert.Equal(TimeSpan.Zero, w));
    }

    [Fact]
    public async Task Given_a_429_without_retry_after_When_sent_Then_the_backoff_applies()
    {
        var gitlab = new ScriptedGitLab(TooManyRequests(_ => { }), TooManyRequests(_ => { }));

        await Client(gitlab).SendAsync(Request("POST"));

        Assert.Equal(3, gitlab.Sent.Count);
        Assert.Equal([Base, Base * 2], clock.Waits);
    }

    [Fact]
    public async Task Given_the_registered_gitlab_client_When_a_post_gets_503_and_a_get_gets_502_Then_only_the_get_is_retried()
    {
        // The wiring the silo uses, end to end through HttpClientFactory.
        var gitlab = new ScriptedGitLab(Status(HttpStatusCode.ServiceUnavailable), Status(HttpStatusCode.BadGateway));
        var services = new ServiceCollection();
        services.AddHttpClient("gitlab", c => c.BaseAddress = new Uri("http://gitlab.test/")).ConfigurePrimaryHttpMessageHandler(() => gitlab)
            .AddOrchestratorRetries();
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("gitlab");

        var post = await client.SendAsync(Request("POST"));
        var get = await client.SendAsync(Request("GET"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal([HttpMethod.Post, HttpMethod.Get, HttpMethod.Get], gitlab.Sent.Select(s => s.Method));
    }
}
