using System.Text.Json.Nodes;
using Sandbox.Ci;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

public static class PipelinesApi
{
    public static void MapPipelinesApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("POST", "/projects/{id}/pipeline", async r =>
        {
            var project = r.Project();
            var refName = r.Params.RequiredString("ref");
            if (!r.Store.CanPush(project, refName, r.User) && r.Store.AccessLevelOf(project, r.User) < AccessLevel.Developer)
                throw GitLabError.Forbidden();
            var sha = await r.Store.Repo(project).BranchHeadAsync(refName)
                ?? throw new GitLabError(400, new JsonObject { ["message"] = new JsonObject { ["base"] = new JsonArray("Reference not found") } });
            var variables = new List<KeyValuePair<string, string>>();
            foreach (var v in r.Params.Array("variables") ?? [])
            {
                var key = v?["key"]?.GetValue<string>() ?? throw GitLabError.Invalid("variables");
                variables.Add(new(key, v["value"]?.ToString() ?? ""));
            }
            var pipeline = await r.Service<PipelineService>().CreateAsync(project, refName, sha, GitRef.Blank, "api", r.User, variables, failOnYamlError: true);
            return GitLabEndpoint.Json(r.Service<CiViews>().Pipeline(pipeline!), 201);
        });

        app.MapGitLab("GET", "/projects/{id}/pipelines", r =>
        {
            var project = r.Project();
            var p = r.Params;
            var list = r.Service<PipelineService>().Pipelines.Where(x => x.ProjectId == project.Id)
                .Where(x => p.String("ref") is not { } rf || x.Ref == rf)
                .Where(x => p.String("sha") is not { } sha || x.Sha == sha)
                .Where(x => p.String("status") is not { } st || x.Status == st)
                .Where(x => p.String("source") is not { } src || x.Source == src)
                .Where(x => p.String("username") is not { } u || r.Store.Users.GetValueOrDefault(x.UserId)?.Username == u);
            var ordered = p.String("sort") == "asc" ? list.OrderBy(x => x.Id) : list.OrderByDescending(x => x.Id);
            return GitLabEndpoint.List(r, [.. ordered.Select(x => (JsonNode)r.Service<CiViews>().PipelineBasic(x))]);
        });

        app.MapGitLab("GET", "/projects/{id}/pipelines/{pipelineId}", r => GitLabEndpoint.Json(r.Service<CiViews>().Pipeline(Find(r))));
        app.MapGitLab("GET", "/projects/{id}/pipelines/{pipelineId}/variables", r => GitLabEndpoint.Json(CiViews.Variables(Find(r))));

        app.MapGitLab("GET", "/projects/{id}/pipelines/{pipelineId}/jobs", async r =>
        {
            var pipeline = Find(r);
            var scope = r.Params.List("scope");
            var list = new List<JsonNode>();
            foreach (var job in pipeline.Jobs.Where(j => scope is null || scope.Contains(j.Status)))
                list.Add(await r.Service<CiViews>().Job(job));
            return GitLabEndpoint.List(r, list);
        });

        // Trigger jobs (bridges) to downstream pipelines: the sandbox's CI subset has no `trigger:`, so always none.
        app.MapGitLab("GET", "/projects/{id}/pipelines/{pipelineId}/bridges", r =>
        {
            _ = Find(r);
            return GitLabEndpoint.List(r, []);
        });

        app.MapGitLab("POST", "/projects/{id}/pipelines/{pipelineId}/cancel", r =>
        {
            var pipeline = Find(r);
            r.RequireAccess(r.Store.ProjectById(pipeline.ProjectId), AccessLevel.Developer);
            r.Service<PipelineService>().Cancel(pipeline);
            return GitLabEndpoint.Json(r.Service<CiViews>().Pipeline(pipeline));
        });

        app.MapGitLab("POST", "/projects/{id}/pipelines/{pipelineId}/retry", r =>
        {
            var pipeline = Find(r);
            r.RequireAccess(r.Store.ProjectById(pipeline.ProjectId), AccessLevel.Developer);
            r.Service<PipelineService>().Retry(pipeline, r.User);
            return GitLabEndpoint.Json(r.Service<CiViews>().Pipeline(pipeline), 201);
        });

        app.MapGitLab("GET", "/projects/{id}/jobs/{jobId}", async r => GitLabEndpoint.Json(await r.Service<CiViews>().Job(FindJob(r))));

        app.MapGitLab("GET", "/projects/{id}/jobs/{jobId}/trace", r =>
        {
            var job = FindJob(r);
            string text;
            lock (job.Trace) text = job.Trace.ToString();
            return Results.Text(text, "text/plain");
        });

        app.MapGitLab("GET", "/projects/{id}/merge_requests/{iid}/pipelines", r =>
        {
            var project = r.Project();
            var iid = r.RouteLong("iid", "Merge Request");
            var mr = r.Store.MergeRequests.FirstOrDefault(m => m.TargetProjectId == project.Id && m.Iid == iid) ?? throw GitLabError.NotFound("Merge Request");
            // GitLab lists the pipelines of the MR's source branch and its merge request pipelines, in whichever
            // project (target or fork) they ran.
            var pipelines = r.Service<PipelineService>().Pipelines
                .Where(p => p.MergeRequest == mr || (p.ProjectId == mr.SourceProjectId && p.Ref == mr.SourceBranch))
                .OrderByDescending(p => p.Id);
            return GitLabEndpoint.List(r, [.. pipelines.Select(p => (JsonNode)r.Service<CiViews>().PipelineBasic(p))]);
        });

        app.MapGitLab("POST", "/projects/{id}/merge_requests/{iid}/pipelines", async r =>
        {
            var project = r.Project();
            var iid = r.RouteLong("iid", "Merge Request");
            var mr = r.Store.MergeRequests.FirstOrDefault(m => m.TargetProjectId == project.Id && m.Iid == iid) ?? throw GitLabError.NotFound("Merge Request");
            // The answer's project_id says where it ran; GitLab answers 200 here, not 201.
            var pipeline = await r.Service<MergeRequestPipelines>().CreateAsync(mr, r.User);
            return GitLabEndpoint.Json(r.Service<CiViews>().Pipeline(pipeline));
        });
    }

    private static Pipeline Find(GitLabRequest r)
    {
        var project = r.Project();
        var id = r.RouteLong("pipelineId", "Pipeline");
        return r.Service<PipelineService>().Pipelines.FirstOrDefault(p => p.Id == id && p.ProjectId == project.Id) ?? throw GitLabError.NotFound("Pipeline");
    }

    private static Job FindJob(GitLabRequest r)
    {
        var project = r.Project();
        var id = r.RouteLong("jobId", "Job");
        return r.Service<PipelineService>().AllJobs.GetValueOrDefault(id) is { } job && job.Pipeline.ProjectId == project.Id
            ? job
            : throw GitLabError.NotFound("Job");
    }
}
