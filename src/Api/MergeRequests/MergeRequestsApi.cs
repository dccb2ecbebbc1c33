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
        project.MapGet("/queues/{targetBranch}", Queue).WithName("GetQueue").RequireScope("read");

        var one = project.MapGroup("/merge-requests/{iid}");
        one.MapPost("/merge", Enqueue).WithName("EnqueueMerge").RequireScope("merge");
        one.MapDelete("/merge", Cancel).WithName("CancelMerge").RequireScope("merge");
        one.MapGet("/", Get).WithName("GetMergeRequest").RequireScope("read");
        one.MapGet("/events", Events).WithName("GetMergeRequestEvents").RequireScope("read");
        one.MapGet("/replay", Replay).WithName("ReplayMergeRequest").RequireScope("read");
        one.MapGet("/timeline", Timeline).WithName("GetMergeRequestTimeline").RequireScope("read");
        return app;
    }

    private static async Task<Results<Accepted<MergeRequestResponse>, Ok<MergeRequestResponse>, ProblemHttpResult>> Enqueue(
        string iid, HttpContext http, IGrainFactory grains, CancellationToken ct)
    {
        if (Key(http, iid) is not { } key) return BadIid(iid);
        var (body, problem) = await JsonBody.ReadOptionalAsync<EnqueueRequest>(http.Request, ct);
        if (problem is not null) return problem;
        var outcome = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Enqueue(Requester.ApiToken(body?.RequestedBy ?? "api"));
        if (outcome.Rejection is { } rejection) return Problems.From(rejection);
        var response = MergeRequestResponse.From(key, outcome.Snapshot);
        // 202 when this call started an attempt; 200 when it found one already under way.
        return outcome.EventsRecorded > 0
            ? TypedResults.Accepted($"/api/v1/projects/{key.ProjectId}/merge-requests/{key.Iid}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<Results<Ok<MergeRequestResponse>, ProblemHttpResult>> Cancel(
        string iid, HttpContext http, IGrainFactory grains, CancellationToken ct)
    {
        if (Key(http, iid) is not { } key) return BadIid(iid);
        var (body, problem) = await JsonBody.ReadOptionalAsync<CancelRequest>(http.Request, ct);
        if (problem is not null) return problem;
        var outcome = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Cancel("api", body?.Reason ?? "cancelled through the API");
        if (outcome.Rejection is { } rejection) return Problems.From(rejection);
        return TypedResults.Ok(MergeRequestResponse.From(key, outcome.Snapshot));
    }

    private static async Task<Results<Ok<MergeRequestResponse>, ProblemHttpResult>> Get(string iid, HttpContext http, IGrainFactory grains)
    {
        if (Key(http, iid) is not { } key) return BadIid(iid);
        var snapshot = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetSnapshot();
        if (snapshot.Version == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(MergeRequestResponse.From(key, snapshot));
    }

    private static async Task<Results<Ok<IReadOnlyList<EventResponse>>, ProblemHttpResult>> Events(string iid, HttpContext http, IGrainFactory grains)
    {
        if (Key(http, iid) is not { } key) return BadIid(iid);
        var events = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetEvents();
        if (events.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        IReadOnlyList<EventResponse> body =
            [.. events.Select(e => new EventResponse(e.Version, e.Type, e.At, JsonDocument.Parse(e.Data).RootElement.Clone()))];
        return TypedResults.Ok(body);
    }

    private static async Task<Results<Ok<ReplayResponse>, ProblemHttpResult>> Replay(string iid, HttpContext http, IGrainFactory grains)
    {
        if (Key(http, iid) is not { } key) return BadIid(iid);
        var view = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Replay();
        if (view.Decisions.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(new ReplayResponse(view.Consistent, view.State, view.Attempt,
            [.. view.Decisions.Select(d => new ReplayDecisionResponse(d.Version, d.Command, JsonDocument.Parse(d.Inputs).RootElement.Clone(),
                d.Recorded, d.Decided, d.Same))]));
    }

    private static async Task<Results<Ok<TimelineResponse>, ProblemHttpResult>> Timeline(string iid, HttpContext http, IGrainFactory grains)
    {
        if (Key(http, iid) is not { } key) return BadIid(iid);
        var steps = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetTimeline();
        if (steps.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(new TimelineResponse(key.ProjectId, key.Iid,
            [.. steps.Select(s => new TimelineStepResponse(s.Attempt, s.Step, s.Started, s.Ended, s.Duration?.TotalSeconds, s.Entries))]));
    }

    private static readonly string[] States = ["queued", "rebasing", "checking", "building", "verifying", "promoting", "merging", "completed", "failed", "cancelled"];

    private static async Task<Results<Ok<IReadOnlyList<MergeRequestSummaryResponse>>, ProblemHttpResult>> List(
        HttpContext http, MergeRequestIndex index, string? state, int? page, int? per_page, CancellationToken ct)
    {
        if (state is not null && !States.Contains(state)) return Problems.BadRequest("Invalid state", $"state must be one of {string.Join(", ", States)}");
        var p = Math.Max(1, page ?? 1);
        var size = Math.Clamp(per_page ?? 20, 1, 100);
        var (items, total) = await index.ListAsync(http.Project(), state, p, size, ct);
        http.Response.Headers["x-total"] = total.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["x-page"] = p.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["x-per-page"] = size.ToString(CultureInfo.InvariantCulture);
        IReadOnlyList<MergeRequestSummaryResponse> body = [.. items.Select(i => new MergeRequestSummaryResponse(i.ProjectId, i.Iid, i.State, i.Attempt, i.UpdatedAt))];
        return TypedResults.Ok(body);
    }

    private static async Task<Ok<QueueResponse>> Queue(string targetBranch, HttpContext http, OperationsReadModel read, CancellationToken ct)
    {
        var queue = await read.QueueAsync(new MergeQueueKey(http.Project(), Uri.UnescapeDataString(targetBranch)), ct);
        IEnumerable<QueueEntryResponse> holder = queue.Holder is { } h ? [new QueueEntryResponse(h.Iid, true, h.State, h.Attempt)] : [];
        return TypedResults.Ok(new QueueResponse(queue.ProjectId, queue.TargetBranch,
            [.. holder.Concat(queue.Waiting.Select(w => new QueueEntryResponse(w.Iid, false, w.State, w.Attempt)))]));
    }

    private static MergeRequestKey? Key(HttpContext http, string iid) =>
        long.TryParse(iid, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i > 0 ? new MergeRequestKey(http.Project(), i) : null;

    private static ProblemHttpResult BadIid(string iid) =>
        Problems.BadRequest("Invalid merge request", $"merge request '{iid}' must be a positive number");
}
