using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Http;
using Orchestrator.Api.Security;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Persistence;

namespace Orchestrator.Api.MergeRequests;

public static class MergeRequestsApi
{
    public static IEndpointRouteBuilder MapMergeRequestsApi(this IEndpointRouteBuilder app)
    {
        var project = app.MapGroup("/api/v1/projects/{projectId}").WithTags("Merge requests");
        project.MapGet("/merge-requests", List).WithName("ListMergeRequests").RequireScope("read");

        // Each one-MR route checks the token first (RequireScope), then {iid} (RequireMergeRequest): filters run in that order.
        var one = project.MapGroup("/merge-requests/{iid}");
        one.MapPost("/merge", Enqueue).WithName("EnqueueMerge").RequireScope("merge").RequireMergeRequest();
        one.MapDelete("/merge", Cancel).WithName("CancelMerge").RequireScope("merge").RequireMergeRequest();
        one.MapGet("/", Get).WithName("GetMergeRequest").RequireScope("read").RequireMergeRequest();
        one.MapGet("/events", Events).WithName("GetMergeRequestEvents").RequireScope("read").RequireMergeRequest();
        one.MapGet("/replay", Replay).WithName("ReplayMergeRequest").RequireScope("read").RequireMergeRequest();
        one.MapGet("/timeline", Timeline).WithName("GetMergeRequestTimeline").RequireScope("read").RequireMergeRequest();
        return app;
    }

    /// <summary>
    /// Checks everything before the grain hears of it — body, then GitLab's word that the MR exists here, then who the
    /// token acts for — so a refused call records nothing.
    /// </summary>
    private static async Task<Results<Accepted<MergeRequestResponse>, Ok<MergeRequestResponse>, ProblemHttpResult>> Enqueue(
        HttpContext http, IGrainFactory grains, CancellationToken ct)
    {
        var key = http.MergeRequest();
        var (body, problem) = await JsonBody.ReadOptionalAsync<EnqueueRequest>(http.Request, ct);
        if ((problem ?? RequestText.Label("requestedBy", body?.RequestedBy) ?? CommitSha.Check("sha", body?.Sha)) is { } bad) return bad;
        if (await KnownMergeRequest.CheckAsync(http, key) is { } unknown) return unknown;
        var (requester, unavailable) = await ApiRequester.ForAsync(http, body?.RequestedBy);
        if (requester is null) return unavailable!;
        var outcome = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Enqueue(requester,
            head: RequestedHead.From(body?.Sha?.ToLowerInvariant(), RequestedHead.Api));
        if (outcome.Rejection is { } rejection) return Problems.From(rejection);
        var response = MergeRequestResponse.From(key, outcome.Snapshot);
        // 202 when this call started an attempt; 200 when it found one already under way.
        return outcome.EventsRecorded > 0
            ? TypedResults.Accepted($"/api/v1/projects/{key.ProjectId}/merge-requests/{key.Iid}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<Results<Ok<MergeRequestResponse>, ProblemHttpResult>> Cancel(HttpContext http, IGrainFactory grains, CancellationToken ct)
    {
        var key = http.MergeRequest();
        var (body, problem) = await JsonBody.ReadOptionalAsync<CancelRequest>(http.Request, ct);
        if ((problem ?? RequestText.Text("reason", body?.Reason)) is { } bad) return bad;
        // Who cancelled is the token (and the user it acts for), from configuration; the body only gives a reason.
        var outcome = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Cancel(http.Caller().Actor, body?.Reason ?? "cancelled through the API");
        if (outcome.Rejection is { } rejection) return Problems.From(rejection);
        return TypedResults.Ok(MergeRequestResponse.From(key, outcome.Snapshot));
    }

    private static async Task<Results<Ok<MergeRequestResponse>, ProblemHttpResult>> Get(HttpContext http, IGrainFactory grains)
    {
        var key = http.MergeRequest();
        var snapshot = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetSnapshot();
        if (snapshot.Version == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(MergeRequestResponse.From(key, snapshot));
    }

    private static async Task<Results<Ok<IReadOnlyList<EventResponse>>, ProblemHttpResult>> Events(HttpContext http, IGrainFactory grains)
    {
        var key = http.MergeRequest();
        var events = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetEvents();
        if (events.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        IReadOnlyList<EventResponse> body =
            [.. events.Select(e => new EventResponse(e.Version, e.Type, e.At, JsonDocument.Parse(e.Data).RootElement.Clone()))];
        return TypedResults.Ok(body);
    }

    private static async Task<Results<Ok<ReplayResponse>, ProblemHttpResult>> Replay(HttpContext http, IGrainFactory grains)
    {
        var key = http.MergeRequest();
        var view = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Replay();
        if (view.Decisions.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(new ReplayResponse(view.Consistent, view.State, view.Attempt,
            [.. view.Decisions.Select(d => new ReplayDecisionResponse(d.Version, d.Command, JsonDocument.Parse(d.Inputs).RootElement.Clone(),
                d.Recorded, d.Decided, d.Same, d.RecordedWith, d.Verdict))], view.RulesVersion, view.Unexplained));
    }

    private static async Task<Results<Ok<TimelineResponse>, ProblemHttpResult>> Timeline(HttpContext http, IGrainFactory grains)
    {
        var key = http.MergeRequest();
        var steps = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetTimeline();
        if (steps.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(new TimelineResponse(key.ProjectId, key.Iid,
            [.. steps.Select(s => new TimelineStepResponse(s.Attempt, s.Step, s.Started, s.Ended, s.Duration?.TotalSeconds, s.Entries))]));
    }

    private static async Task<Results<Ok<IReadOnlyList<MergeRequestSummaryResponse>>, ProblemHttpResult>> List(
        HttpContext http, MergeRequestIndex index, CancellationToken ct)
    {
        var (query, problem) = ListQuery.Parse(http.Request.Query);
        if (query is null) return problem!;
        var (items, total) = await index.ListAsync(http.Project(), query.State, query.Page, query.PerPage, ct);
        http.Response.Headers["x-total"] = total.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["x-page"] = query.Page.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["x-per-page"] = query.PerPage.ToString(CultureInfo.InvariantCulture);
        IReadOnlyList<MergeRequestSummaryResponse> body = [.. items.Select(i => new MergeRequestSummaryResponse(i.ProjectId, i.Iid, i.State, i.Attempt, i.UpdatedAt))];
        return TypedResults.Ok(body);
    }
}
