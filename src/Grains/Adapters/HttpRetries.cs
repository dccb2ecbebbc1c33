using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Orchestrator.Adapters;

/// <summary>
/// Retries what is safe to retry: idempotent methods (GET, HEAD, PUT, DELETE) after 5xx, a timeout or a transport
/// error, with exponential backoff; any method after 429, waiting as long as Retry-After says (a 429 means the request
/// was not processed). A POST that failed any other way is never repeated blindly: the caller looks before it re-creates.
/// A retry strategy of our own on Microsoft.Extensions.Http.Resilience, not its standard handler: that one retries
/// POSTs and adds circuit breakers and timeouts, each of which would change these rules.
/// </summary>
public static class HttpRetries
{
    /// <summary>The first backoff; each next one doubles.</summary>
    public static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>Retries after the first try, so at most four sends of one request.</summary>
    public const int MaxRetries = 3;

    /// <summary>The longest a Retry-After is obeyed: a step waiting longer is better retried at the next poll.</summary>
    public static readonly TimeSpan RetryAfterCap = TimeSpan.FromSeconds(30);

    public static IHttpClientBuilder AddOrchestratorRetries(this IHttpClientBuilder client)
    {
        client.AddResilienceHandler("orchestrator-retries", pipeline => pipeline.AddRetry(Strategy(BaseDelay, TimeProvider.System)));
        return client;
    }

    /// <param name="baseDelay">The first backoff.</param>
    /// <param name="clock">Reads Retry-After dates against this clock (the server's date is wall-clock time).</param>
    public static RetryStrategyOptions<HttpResponseMessage> Strategy(TimeSpan baseDelay, TimeProvider clock) => new()
    {
        MaxRetryAttempts = MaxRetries,
        BackoffType = DelayBackoffType.Exponential,
        Delay = baseDelay,
        UseJitter = false,
        ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
        DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } r ? RetryAfter(r, clock) : null),
    };

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests }) return true;
        if (!IsIdempotent(context.GetRequestMessage()?.Method)) return false;
        return outcome switch
        {
            { Result: { } response } => (int)response.StatusCode >= 500,
            { Exception: HttpRequestException or TimeoutRejectedException } => true,
            // A timeout below us, not the caller giving up (HttpClient.Timeout cancels the caller's token too).
            { Exception: OperationCanceledException } => !context.CancellationToken.IsCancellationRequested,
            _ => false,
        };
    }

    private static bool IsIdempotent(HttpMethod? method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Put || method == HttpMethod.Delete;

    /// <summary>How long a 429 asks to wait (seconds or a date), capped; null when it does not say, so the backoff applies.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider clock)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - clock.GetUtcNow() : null);
        if (wait is not { } w) return null;
        return w < TimeSpan.Zero ? TimeSpan.Zero : w > RetryAfterCap ? RetryAfterCap : w;
    }
}
