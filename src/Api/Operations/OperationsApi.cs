using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Security;
using Orchestrator.Persistence;

namespace Orchestrator.Api.Operations;

public sealed record QueueMemberResponse(long Iid, string State, int Attempt, DateTimeOffset? UpdatedAt);

public sealed record QueueOverviewResponse(long ProjectId, string TargetBranch, QueueMemberResponse? Holder, IReadOnlyList<QueueMemberResponse> Waiting);

public sealed record RecentMergeRequestResponse(long ProjectId, long Iid, string State, int Attempt, DateTimeOffset? UpdatedAt);

public sealed record GrainCountResponse(string GrainType, int Activations);

public sealed record ClusterResponse(int Silos, int Activations, IReadOnlyList<GrainCountResponse> Grains);

public sealed record OverviewResponse(DateTimeOffset At, IReadOnlyList<QueueOverviewResponse> Queues, IReadOnlyList<RecentMergeRequestResponse> MergeRequests);

/// <summary>
/// The operations page for people: a static shell (no data in it, so it needs no token) whose script reads the
/// overview and each MR's timeline through the API with the read scope, like any bot.
/// </summary>
public static class OperationsApi
{
    private static readonly Dictionary<string, (string File, string ContentType)> Assets = new()
    {
        ["/ops"] = ("ops.html", "text/html; charset=utf-8"),
        ["/ops/ops.js"] = ("ops.js", "text/javascript; charset=utf-8"),
        ["/ops/ops.css"] = ("ops.css", "text/css; charset=utf-8"),
    };

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        foreach (var (path, (file, contentType)) in Assets)
            app.MapGet(path, (HttpContext http) => Asset(http, file, contentType)).ExcludeFromDescription();

        app.MapGet("/api/v1/ops/overview", Overview).WithName("GetOperationsOverview").WithTags("Operations").RequireScope("read");
        app.MapGet("/api/v1/ops/cluster", Cluster).WithName("GetCluster").WithTags("Operations").RequireScope("read");
        return app;
    }

    private static IResult Asset(HttpContext http, string file, string contentType)
    {
        // The page builds every node with textContent, and the policy forbids inline script and foreign origins
        // besides, so a hostile MR title or branch name cannot run in an operator's browser.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-cache";
        var stream = typeof(OperationsApi).Assembly.GetManifestResourceStream($"Orchestrator.Api.Operations.{file}")
            ?? throw new InvalidOperationException($"the operations page lacks its embedded {file}");
        return TypedResults.Stream(stream, contentType);
    }

    private static async Task<Ok<OverviewResponse>> Overview(HttpContext http, OperationsReadModel read, TimeProvider clock, CancellationToken ct)
    {
        var projects = http.Caller().Projects;
        var queues = await read.QueuesAsync(projects, ct);
        var recent = await read.RecentAsync(projects, 50, ct);
        static QueueMemberResponse Member(MergeRequestSummary s) => new(s.Iid, s.State, s.Attempt, s.UpdatedAt);
        return TypedResults.Ok(new OverviewResponse(clock.GetUtcNow(),
            [.. queues.Select(q => new QueueOverviewResponse(q.ProjectId, q.TargetBranch, q.Holder is { } h ? Member(h) : null, [.. q.Waiting.Select(Member)]))],
            [.. recent.Select(s => new RecentMergeRequestResponse(s.ProjectId, s.Iid, s.State, s.Attempt, s.UpdatedAt))]));
    }

    /// <summary>Active silos and grain activations by type, from Orleans' management grain (cluster-wide, no project data).</summary>
    private static async Task<Ok<ClusterResponse>> Cluster(IGrainFactory grains)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: true);
        var stats = await management.GetSimpleGrainStatistics();
        var byType = stats.GroupBy(s => ShortName(s.GrainType))
            .Select(g => new GrainCountResponse(g.Key, g.Sum(s => s.ActivationCount)))
            .OrderByDescending(g => g.Activations).ToList();
        return TypedResults.Ok(new ClusterResponse(hosts.Count, byType.Sum(g => g.Activations), byType));
    }

    private static string ShortName(string grainType) => grainType.Split(',')[0].Split('.')[^1];
}
