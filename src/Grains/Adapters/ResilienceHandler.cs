using System.Net;

namespace Orchestrator.Adapters;

/// <summary>
/// Retries what is safe to retry: idempotent methods (GET, HEAD, PUT, DELETE) after 5xx or a timeout, with
/// exponential backoff; any method after 429, waiting as long as Retry-After says (a 429 means the request was
/// not processed). A POST that failed any other way is never repeated blindly: the caller looks before it re-creates.
/// </summary>
public sealed class ResilienceHandler(TimeSpan baseDelay, int maxAttempts = 4, TimeSpan? maxRetryAfter = null) : DelegatingHandler
{
    private readonly TimeSpan retryAfterCap = maxRetryAfter ?? TimeSpan.FromSeconds(30);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var idempotent = request.Method == HttpMethod.Get || request.Method == HttpMethod.Head
            || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete;
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(ct);
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            try
            {
                using var retry = Clone(request, body);
                response = await base.SendAsync(retry, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested && idempotent && attempt < maxAttempts)
            {
                await Task.Delay(Backoff(attempt), ct);
                continue;
            }
            if (attempt >= maxAttempts) return response;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var wait = response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date - DateTimeOffset.UtcNow) ?? Backoff(attempt);
                response.Dispose();
                await Task.Delay(wait < TimeSpan.Zero ? TimeSpan.Zero : wait > retryAfterCap ? retryAfterCap : wait, ct);
                continue;
            }
            if ((int)response.StatusCode >= 500 && idempotent)
            {
                response.Dispose();
                await Task.Delay(Backoff(attempt), ct);
                continue;
            }
            return response;
        }
    }

    private TimeSpan Backoff(int attempt) => baseDelay * Math.Pow(2, attempt - 1);

    private static HttpRequestMessage Clone(HttpRequestMessage original, byte[]? body)
    {
        var copy = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version };
        foreach (var h in original.Headers) copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var h in original.Content!.Headers) copy.Content.Headers.TryAddWithoutValidation(h.Key, h.Value);
        }
        return copy;
    }
}
