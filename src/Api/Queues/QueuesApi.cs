using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Api.Http;
using Orchestrator.Api.Security;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Persistence;
using Orchestrator.Workflow;

namespace Orchestrator.Api.Queues;

/// <summary>A target branch's queue: who holds it and who waits, and the steering people expect (pause, resume, rush).</summary>
public static class QueuesApi
{
    public static IEndpointRouteBuilder MapQueuesApi(this IEndpointRouteBuilder app)
    {
        var queue = app.MapGroup("/api/v1/projects/{projectId}/queues/{targetBranch}").WithTags("Queues");
        queue.MapGet("/", Get).WithName("GetQueue").RequireScope("read");
        queue.MapPost("/pause", Pause).WithName("PauseQueue").RequireScope("admin");
        queue.MapPost("/resume", Resume).WithName("ResumeQueue").RequireScope("admin");
        queue.MapPost("/front", Front).WithName("MoveToFront").RequireScope("admin");
        queue.MapGet("/train", Train).WithName("GetTrain").RequireScope("read");
        return app;
    }

    private static MergeQueueKey Key(HttpContext http, string targetBranch) => new(http.Project(), Uri.UnescapeDataString(targetBranch));

    private static async Task<Ok<QueueResponse>> Get(string targetBranch, HttpContext http, OperationsReadModel read, PolicyStore policies,
        TimeProvider clock, CancellationToken ct) =>
        TypedResults.Ok(await ResponseAsync(Key(http, targetBranch), read, policies, clock, ct));

    /// <summary>The branch's merge train: its cars in order (what each is tested on, its head, its status, its pipeline, what it waits for), who waits, who landed, and whether replay re-plans every plan alike.</summary>
    private static async Task<Ok<TrainResponse>> Train(string targetBranch, HttpContext http, IGrainFactory grains) =>
        TypedResults.Ok(await TrainResponse.ReadAsync(grains, Key(http, targetBranch)));

    private static async Task<Results<Ok<QueueResponse>, ProblemHttpResult>> Pause(string targetBranch, HttpContext http, IGrainFactory grains,
        OperationsReadModel read, PolicyStore policies, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadOptionalAsync<PauseRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (string.IsNullOrWhiteSpace(body?.Reason)) return Problems.BadRequest("Missing reason", "a pause needs a reason, shown to everyone who waits");
        if (RequestText.Text("reason", body.Reason) is { } bad) return bad;
        var key = Key(http, targetBranch);
        // A typo must not leave the real branch running while the operator believes it paused.
        if (GitLabLookup.Configured(http))
        {
            var gitlab = http.RequestServices.GetRequiredService<Adapters.IGitLabClient>();
            var (head, unavailable) = await GitLabLookup.TryAsync(http, $"branch {key.Branch}", async t => await gitlab.BranchHeadAsync(key.ProjectId, key.Branch, t));
            if (unavailable is not null) return unavailable;
            if (head is null) return Problems.NotFound($"GitLab shows the bot no branch {key.Branch} in project {key.ProjectId}");
        }
        await grains.GetGrain<IMergeQueueGrain>(key.ToString()).Pause(body.Reason, http.Caller().Actor, body.StopRunning == true, clock.GetUtcNow());
        return TypedResults.Ok(await ResponseAsync(key, read, policies, clock, ct));
    }

    private static async Task<Ok<QueueResponse>> Resume(string targetBranch, HttpContext http, IGrainFactory grains, OperationsReadModel read,
        PolicyStore policies, TimeProvider clock, CancellationToken ct)
    {
        var key = Key(http, targetBranch);
        await grains.GetGrain<IMergeQueueGrain>(key.ToString()).Resume(http.Caller().Actor, clock.GetUtcNow());
        return TypedResults.Ok(await ResponseAsync(key, read, policies, clock, ct));
    }

    private static async Task<Results<Ok<QueueResponse>, ProblemHttpResult>> Front(string targetBranch, HttpContext http, IGrainFactory grains,
        OperationsReadModel read, PolicyStore policies, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadOptionalAsync<FrontRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (body?.Iid is not > 0) return Problems.BadRequest("Missing iid", "say which waiting merge request goes first: {\"iid\": N}");
        var key = Key(http, targetBranch);
        if (!await grains.GetGrain<IMergeQueueGrain>(key.ToString()).MoveToFront(body.Iid.Value, http.Caller().Actor, clock.GetUtcNow()))
            return Problems.NotFound($"merge request {body.Iid} is not waiting in the queue of {key.Branch}");
        return TypedResults.Ok(await ResponseAsync(key, read, policies, clock, ct));
    }

    private static async Task<QueueResponse> ResponseAsync(MergeQueueKey key, OperationsReadModel read, PolicyStore policies, TimeProvider clock,
        CancellationToken ct)
    {
        var queue = await read.QueueAsync(key, ct);
        var policy = await policies.GetAsync(key.ProjectId, ct);
        IEnumerable<QueueEntryResponse> holder = queue.Holder is { } h ? [new QueueEntryResponse(h.Iid, true, h.State, h.Attempt)] : [];
        return new QueueResponse(queue.ProjectId, queue.TargetBranch,
            [.. holder.Concat(queue.Waiting.Select(w => new QueueEntryResponse(w.Iid, false, w.State, w.Attempt)))],
            queue.Paused is { } p ? new QueuePauseResponse(p.Reason, p.By, p.Since) : null,
            Embargoes.Until(policy.Embargo, clock.GetUtcNow()));
    }
}

public sealed record PauseRequest(string? Reason, bool? StopRunning);

public sealed record FrontRequest(long? Iid);

public sealed record QueueEntryResponse(long Iid, bool HoldsBranch, string State, int Attempt);

public sealed record QueuePauseResponse(string Reason, string By, DateTimeOffset Since);

/// <summary>A target branch's queue in order (the holder first), whether it is paused and why, and until when merges are embargoed.</summary>
public sealed record QueueResponse(long ProjectId, string TargetBranch, IReadOnlyList<QueueEntryResponse> Entries, QueuePauseResponse? Paused = null,
    DateTimeOffset? EmbargoedUntil = null);
