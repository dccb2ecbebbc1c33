using System.Text.Json.Nodes;
using Sandbox.Hooks;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

public static class HooksApi
{
    public static void MapHooksApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", "/projects/{id}/hooks", r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            return GitLabEndpoint.List(r, [.. r.Service<WebhookDispatcher>().Hooks.Where(h => h.ProjectId == project.Id).Select(h => (JsonNode)View(r, h))]);
        });

        app.MapGitLab("GET", "/projects/{id}/hooks/{hookId}", r => GitLabEndpoint.Json(View(r, Find(r))));

        app.MapGitLab("POST", "/projects/{id}/hooks", r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            var url = r.Params.RequiredString("url");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")) throw GitLabError.BadRequest("Invalid url given");
            var hook = new ProjectHook
            {
                Id = r.Store.NewId(), ProjectId = project.Id, Uuid = Guid.NewGuid().ToString(), Url = url, CreatedAt = r.Store.Now,
            };
            Apply(r, hook);
            r.Service<WebhookDispatcher>().Hooks.Add(hook);
            return GitLabEndpoint.Json(View(r, hook), 201);
        });

        app.MapGitLab("PUT", "/projects/{id}/hooks/{hookId}", r =>
        {
            var hook = Find(r);
            if (r.Params.String("url") is { } url) hook.Url = url;
            Apply(r, hook);
            // Saving a hook re-enables it, as GitLab's "Enable" does.
            hook.PermanentlyDisabled = false;
            hook.DisabledUntil = null;
            hook.RecentFailures = 0;
            return GitLabEndpoint.Json(View(r, hook));
        });

        app.MapGitLab("DELETE", "/projects/{id}/hooks/{hookId}", r =>
        {
            var hook = Find(r);
            r.Service<WebhookDispatcher>().Hooks.Remove(hook);
            return Results.NoContent();
        });
    }

    private static void Apply(GitLabRequest r, ProjectHook hook)
    {
        var p = r.Params;
        if (p.Has("token")) hook.Token = p.String("token");
        if (p.Bool("push_events") is { } push) hook.PushEvents = push;
        if (p.Bool("merge_requests_events") is { } mr) hook.MergeRequestsEvents = mr;
        if (p.Bool("pipeline_events") is { } pipeline) hook.PipelineEvents = pipeline;
        if (p.Bool("job_events") is { } job) hook.JobEvents = job;
        if (p.Bool("note_events") is { } note) hook.NoteEvents = note;
        if (p.Bool("tag_push_events") is { } tag) hook.TagPushEvents = tag;
        if (p.Bool("enable_ssl_verification") is { } ssl) hook.EnableSslVerification = ssl;
    }

    private static ProjectHook Find(GitLabRequest r)
    {
        var project = r.Project();
        r.RequireAccess(project, AccessLevel.Maintainer);
        var id = r.RouteLong("hookId", "Hook");
        return r.Service<WebhookDispatcher>().Hooks.FirstOrDefault(h => h.Id == id && h.ProjectId == project.Id) ?? throw GitLabError.NotFound("Hook");
    }

    // The token is write-only, as on GitLab.
    private static JsonObject View(GitLabRequest r, ProjectHook h) => new()
    {
        ["id"] = h.Id, ["url"] = h.Url, ["project_id"] = h.ProjectId, ["push_events"] = h.PushEvents, ["tag_push_events"] = h.TagPushEvents,
        ["merge_requests_events"] = h.MergeRequestsEvents, ["pipeline_events"] = h.PipelineEvents, ["job_events"] = h.JobEvents,
        ["note_events"] = h.NoteEvents, ["enable_ssl_verification"] = h.EnableSslVerification, ["alert_status"] = h.AlertStatus,
        ["disabled_until"] = h.DisabledUntil is { } d ? Views.Time(d) : null, ["created_at"] = Views.Time(h.CreatedAt),
    };
}
