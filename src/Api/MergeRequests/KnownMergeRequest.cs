using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Adapters;
using Orchestrator.Api.Http;
using Orchestrator.Api.Security;
using Orchestrator.Domain;

namespace Orchestrator.Api.MergeRequests;

/// <summary>
/// No phantom workflows: a merge request is asked for only once GitLab has shown it to the bot, as a merge request
/// targeting the path's project. Without a configured GitLab (the embedded mode) there is no one to ask and the request
/// is recorded unchecked, as the grain only records there anyway.
/// </summary>
public static class KnownMergeRequest
{
    public static async Task<ProblemHttpResult?> CheckAsync(HttpContext http, MergeRequestKey key)
    {
        if (!GitLabLookup.Configured(http)) return null;
        var gitlab = http.RequestServices.GetRequiredService<IGitLabClient>();
        var (mr, unavailable) = await GitLabLookup.TryAsync(http, $"merge request {key}",
            async ct => await gitlab.GetMergeRequestAsync(key.ProjectId, key.Iid, ct));
        if (unavailable is not null) return unavailable;
        // A fork's MR is listed under its target project; one that targets elsewhere is not this project's to merge.
        if (mr is null || mr.TargetProjectId != key.ProjectId || mr.Iid != key.Iid)
            return Problems.NotFound($"GitLab shows the bot no merge request {key.Iid} targeting project {key.ProjectId}");
        return mr.State == "merged"
            ? Problems.From(new Rejection(RejectionKind.Conflict, $"merge request {key.Iid} is already merged" + (mr.MergeCommitSha is { } sha ? $" as {sha}" : "")))
            : null;
    }
}
