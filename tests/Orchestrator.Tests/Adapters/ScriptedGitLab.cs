using System.Net;

namespace Orchestrator.Tests.Adapters;

/// <summary>The far end of an HttpClient: answers each send with the next scripted answer, and keeps what it was sent.</summary>
public sealed class ScriptedGitLab(params Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
{
    private int next;

    public List<(HttpMethod Method, string? Body)> Sent { get; } = [];

    public static Func<HttpRequestMessage, HttpResponseMessage> Status(HttpStatusCode status) => _ => new HttpResponseMessage(status);

    public static Func<HttpRequestMessage, HttpResponseMessage> Throws(Exception e) => _ => throw e;

    public static Func<HttpRequestMessage, HttpResponseMessage> TooManyRequests(Action<System.Net.Http.Headers.HttpResponseHeaders> retryAfter) => _ =>
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        retryAfter(response.Headers);
        return response;
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        Sent.Add((request.Method, request.Content is null ? null : await request.Content.ReadAsStringAsync(ct)));
        // Past the script, GitLab is well again.
        return next < answers.Length ? answers[next++](request) : new HttpResponseMessage(HttpStatusCode.OK);
    }
}

/// <summary>A clock whose waits end at once and are kept, so a test reads how long a retry would have waited.</summary>
public sealed class RecordingClock(DateTimeOffset now) : TimeProvider
{
    public List<TimeSpan> Waits { get; } = [];

    public override DateTimeOffset GetUtcNow() => now;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (Waits) Waits.Add(dueTime);
        return System.CreateTimer(callback, state, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }
}
