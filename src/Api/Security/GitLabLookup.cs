using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Api.Http;
using Orchestrator.Hosting;

namespace Orchestrator.Api.Security;

/// <summary>
/// Asks GitLab something on a caller's behalf before anything is recorded. GitLab not showing the bot the thing is the
/// caller's 404; GitLab failing to answer (5xx, 429, 401 of a revoked bot token, a timeout, a dropped connection) is
/// this service being unable to check, so a 503 with Retry-After — never a 500, and never an act on an unchecked input.
/// </summary>
public static class GitLabLookup
{
    // The client already retries idempotent reads; past this budget the caller is better told to come back.
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);
    private const int RetryAfterSeconds = 10;

    /// <summary>Whether there is a GitLab to ask; without one (the embedded mode) the API records requests unchecked.</summary>
    public static bool Configured(HttpContext http) =>
        !string.IsNullOrEmpty(http.RequestServices.GetRequiredService<IOptions<OrchestratorOptions>>().Value.GitLab.BaseUrl);

    /// <summary>The value, or (null, null) when GitLab does not know it, or (null, 503 problem) when GitLab did not answer.</summary>
    public static async Task<(T? Value, ProblemHttpResult? Unavailable)> TryAsync<T>(HttpContext http, string what,
        Func<CancellationToken, Task<T?>> ask) where T : class
    {
        var aborted = http.RequestAborted;
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        budget.CancelAfter(Budget);
        try
        {
            return (await ask(budget.Token), null);
        }
        catch (GitLabException e) when (e.Status is not (401 or 429) and < 500)
        {
            return (null, null);
        }
        catch (Exception e) when (e is GitLabException or HttpRequestException or OperationCanceledException or JsonException
                                  && !aborted.IsCancellationRequested)
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GitLabLookup))
                .LogWarning(e, "GitLab did not answer while looking up {What}", what);
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return (null, Problems.Make(StatusCodes.Status503ServiceUnavailable, "gitlab-unavailable", "GitLab unavailable",
                $"GitLab did not answer while looking up {what}; nothing was recorded, try again later"));
        }
    }
}
