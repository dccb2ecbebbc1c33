using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Adapters;
using Orchestrator.Api.Security;
using Orchestrator.Domain;

namespace Orchestrator.Api.MergeRequests;

/// <summary>
/// Who an API call asks the bot to merge for: the token's configured GitLab user, whose right to merge the grain checks
/// with GitLab, or else the token itself on the authority of its scope and projects. The body's <c>requestedBy</c> is
/// only ever a label.
/// </summary>
public static class ApiRequester
{
    public static async Task<(Requester? Requester, ProblemHttpResult? Unavailable)> ForAsync(HttpContext http, string? requestedBy)
    {
        var caller = http.Caller();
        if (caller.GitLabUser is not { } username) return (Requester.ApiToken(requestedBy ?? caller.Name), null);
        if (!GitLabLookup.Configured(http)) return (Requester.ApiUser(username, null, requestedBy), null);
        var gitlab = http.RequestServices.GetRequiredService<IGitLabClient>();
        var (user, unavailable) = await GitLabLookup.TryAsync(http, $"user '{username}'", ct => gitlab.FindUserAsync(username, ct));
        if (unavailable is not null) return (null, unavailable);
        // A user GitLab does not know stays without an id: the grain fails closed and says so on the merge request.
        return (Requester.ApiUser(username, user?.Id, requestedBy), null);
    }
}
