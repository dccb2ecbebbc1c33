using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Http;
using Orchestrator.Domain;
using Orchestrator.Grains;

namespace Orchestrator.Api.MergeRequests;

public static class MergeRequestsApi
{
    public static IEndpointRouteBuilder MapMergeRequestsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/projects/{projectId}/merge-requests/{iid}").WithTags("Merge requests");
        group.MapPost("/merge", Enqueue).WithName("EnqueueMerge");
        group.MapDelete("/merge", Cancel).WithName("CancelMerge");
        group.MapGet("/", Get).WithName("GetMergeRequest");
        group.MapGet("/events", Events).WithName("GetMergeRequestEvents");
        group.MapGet("/replay", Replay).WithName("ReplayMergeRequest");
        return app;
    }

    private static async Task<Results<Accepted<MergeRequestResponse>, Ok<MergeRequestResponse>, ProblemHttpResult>> Enqueue(
        string projectId, string iid, HttpRequest request, IGrainFactory grains, CancellationToken ct)
    {
        if (ParseKey(projectId, iid) is not { } key) return BadKey(projectId, iid);
        var (body, problem) = await JsonBody.ReadOptionalAsync<EnqueueRequest>(request, ct);
        if (problem is not null) return problem;
        var outcome = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Enqueue(body?.RequestedBy ?? "api");
        if (outcome.Rejection is { } rejection) return Problems.From(rejection);
        var response = MergeRequestResponse.From(key, outcome.Snapshot);
        // 202 when this call started an attempt; 200 when it found one already under way.
        return outcome.EventsRecorded > 0
            ? TypedResults.Accepted($"/api/v1/projects/{key.ProjectId}/merge-requests/{key.Iid}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<Results<Ok<MergeRequestResponse>, ProblemHttpResult>> Cancel(
        string projectId, string iid, HttpRequest request, IGrainFactory grains, CancellationToken ct)
    {
        if (ParseKey(projectId, iid) is not { } key) return BadKey(projectId, iid);
        var (body, problem) = await JsonBody.ReadOptionalAsync<CancelRequest>(request, ct);
        if (problem is not null) return problem;
        var outcome = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Cancel("api", body?.Reason ?? "cancelled through the API");
        if (outcome.Rejection is { } rejection) return Problems.From(rejection);
        return TypedResults.Ok(MergeRequestResponse.From(key, outcome.Snapshot));
    }

    private static async Task<Results<Ok<MergeRequestResponse>, ProblemHttpResult>> Get(string projectId, string iid, IGrainFactory grains)
    {
        if (ParseKey(projectId, iid) is not { } key) return BadKey(projectId, iid);
        var snapshot = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetSnapshot();
        if (snapshot.Version == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(MergeRequestResponse.From(key, snapshot));
    }

    private static async Task<Results<Ok<IReadOnlyList<EventResponse>>, ProblemHttpResult>> Events(
        string projectId, string iid, IGrainFactory grains)
    {
        if (ParseKey(projectId, iid) is not { } key) return BadKey(projectId, iid);
        var events = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).GetEvents();
        if (events.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        IReadOnlyList<EventResponse> body =
            [.. events.Select(e => new EventResponse(e.Version, e.Type, e.At, JsonDocument.Parse(e.Data).RootElement.Clone()))];
        return TypedResults.Ok(body);
    }

    private static async Task<Results<Ok<ReplayResponse>, ProblemHttpResult>> Replay(string projectId, string iid, IGrainFactory grains)
    {
        if (ParseKey(projectId, iid) is not { } key) return BadKey(projectId, iid);
        var view = await grains.GetGrain<IMergeRequestGrain>(key.ToString()).Replay();
        if (view.Decisions.Count == 0) return Problems.NotFound($"merge request {key} has no workflow");
        return TypedResults.Ok(new ReplayResponse(view.Consistent, view.State, view.Attempt,
            [.. view.Decisions.Select(d => new ReplayDecisionResponse(d.Version, d.Command, JsonDocument.Parse(d.Inputs).RootElement.Clone(),
                d.Recorded, d.Decided, d.Same))]));
    }

    private static MergeRequestKey? ParseKey(string projectId, string iid) =>
        long.TryParse(projectId, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p > 0
        && long.TryParse(iid, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i > 0
            ? new MergeRequestKey(p, i)
            : null;

    private static ProblemHttpResult BadKey(string projectId, string iid) =>
        Problems.BadRequest("Invalid merge request", $"project '{projectId}' and merge request '{iid}' must be positive numbers");
}
