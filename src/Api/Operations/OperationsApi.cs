using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Http;
using Orchestrator.Api.Queues;
using Orchestrator.Api.Security;
using Orchestrator.Domain;
using Orchestrator.Persistence;
using Orchestrator.Statistics;
using Orchestrator.Workflow;

namespace Orchestrator.Api.Operations;

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
        app.MapGet("/api/v1/ops/stats", Statistics).WithName("GetOperationsStatistics").WithTags("Operations").RequireScope("read");
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

    private static async Task<Ok<OverviewResponse>> Overview(HttpContext http, OperationsReadModel read, GitLabLinks links, PolicyStore policies,
        IGrainFactory grains, TimeProvider clock, CancellationToken ct)
    {
        var projects = http.Caller().Projects;
        var queues = await read.QueuesAsync(projects, ct);
        var recent = await read.RecentAsync(projects, 50, ct);
        var trains = new List<TrainResponse>();
        foreach (var branch in await read.ActiveBranchesAsync(projects, ct))
            if ((await policies.GetAsync(branch.ProjectId, ct)).Train.IsTrain)
                trains.Add(await TrainResponse.ReadAsync(grains, branch));
        var now = clock.GetUtcNow();
        var members = queues.SelectMany(q => q.Waiting.Concat(q.Holder is { } h ? [h] : [])).Concat(recent).ToList();
        var (paths, titles) = await links.ForAsync(members.Select(m => m.ProjectId).Concat(queues.Select(q => q.ProjectId)).Concat(trains.Select(t => t.ProjectId)),
            members.Select(m => new MergeRequestKey(m.ProjectId, m.Iid)).Concat(trains.SelectMany(t => t.Cars.Select(c => new MergeRequestKey(t.ProjectId, c.Iid)))), ct);
        var embargoes = new Dictionary<long, DateTimeOffset?>();
        foreach (var project in queues.Select(q => q.ProjectId).Distinct())
            embargoes[project] = Embargoes.Until((await policies.GetAsync(project, ct)).Embargo, now);

        MergeRequestLink? Title(MergeRequestSummary s) => titles.GetValueOrDefault(new MergeRequestKey(s.ProjectId, s.Iid));
        QueueMemberResponse Member(MergeRequestSummary s) =>
            new(s.Iid, s.State, s.Attempt, s.UpdatedAt, Title(s)?.Title, Title(s)?.WebUrl, s.RequestedAt, InQueueSeconds(s, now));
        return TypedResults.Ok(new OverviewResponse(now,
            [.. queues.Select(q => new QueueOverviewResponse(q.ProjectId, q.TargetBranch, q.Holder is { } h ? Member(h) : null, [.. q.Waiting.Select(Member)],
                paths.GetValueOrDefault(q.ProjectId)?.Path, paths.GetValueOrDefault(q.ProjectId)?.WebUrl,
                q.Paused is { } p ? new QueuePauseResponse(p.Reason, p.By, p.Since) : null, embargoes[q.ProjectId]))],
            [.. recent.Select(s => new RecentMergeRequestResponse(s.ProjectId, s.Iid, s.State, s.Attempt, s.UpdatedAt,
                paths.GetValueOrDefault(s.ProjectId)?.Path, paths.GetValueOrDefault(s.ProjectId)?.WebUrl, Title(s)?.Title, Title(s)?.WebUrl,
                s.TargetBranch, s.Outcome, s.RequestedAt, InQueueSeconds(s, now)))],
            [.. trains.Select(t => new TrainOverviewResponse(t.ProjectId, t.Branch, paths.GetValueOrDefault(t.ProjectId)?.Path,
                paths.GetValueOrDefault(t.ProjectId)?.WebUrl, t with
                {
                    Cars = [.. t.Cars.Select(c => titles.GetValueOrDefault(new MergeRequestKey(t.ProjectId, c.Iid)) is { } link
                        ? c with { Title = link.Title, WebUrl = link.WebUrl } : c)],
                }))]));
    }

    /// <summary>From the request to the outcome, or to now while the attempt is under way (it has no outcome yet).</summary>
    private static double? InQueueSeconds(MergeRequestSummary s, DateTimeOffset now) =>
        s.RequestedAt is not { } requested ? null : ((s.Outcome is null ? now : s.EndedAt ?? s.UpdatedAt ?? now) - requested).TotalSeconds;

    /// <summary>The statistics panel's figures over the last <paramref name="days"/> UTC days (14 unless asked), from the event store.</summary>
    private static async Task<Results<Ok<WorkflowStatistics>, ProblemHttpResult>> Statistics(HttpContext http, StatisticsQuery query, int? days,
        CancellationToken ct)
    {
        if (days is < 1 or > StatisticsQuery.MaxDays)
            return Problems.BadRequest("Invalid days", $"days must be between 1 and {StatisticsQuery.MaxDays}");
        return TypedResults.Ok(await query.ComputeAsync(http.Caller().Projects, days ?? 14, ct));
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
