using Sandbox.Git;
using Sandbox.Model;

namespace Sandbox.GitHttp;

/// <summary>
/// GitLab's <c>POST /api/v4/internal/allowed</c> as the sandbox's pre-receive hook calls it: the push's ref changes,
/// its push options and git's quarantine directories; 200 lets the push through, anything else is GitLab's refusal.
/// Only a push in flight can call it, with the key its request was given.
/// </summary>
public static class InternalAllowedApi
{
    public static void MapInternalAllowedApi(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/v4/internal/allowed", async (HttpContext context, SandboxStore store, PushSessions sessions) =>
        {
            if (sessions.Find(context.Request.Headers[PreReceiveHook.KeyHeader].FirstOrDefault()) is not { } push)
                return Results.Text("401 Unauthorized", "text/plain; charset=utf-8", statusCode: 401);
            var form = await context.Request.ReadFormAsync();
            var changes = RefChange.ParseAll(form["changes"].ToString());
            // The pushed objects are only in the quarantine until pre-receive says yes; git tells the hook where.
            var quarantine = new Dictionary<string, string>();
            if (form["object_directory"].ToString() is { Length: > 0 } objects) quarantine["GIT_OBJECT_DIRECTORY"] = objects;
            if (form["alternate_object_directories"].ToString() is { Length: > 0 } alternates) quarantine["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = alternates;
            var project = store.ProjectById(push.ProjectId);
            await using var held = await store.LockAsync(project);
            try
            {
                await GitAccess.CheckChangesAsync(store, push.Client, project, changes, quarantine);
            }
            catch (GitAccessDenied e)
            {
                return Results.Text(e.Message, "text/plain; charset=utf-8", statusCode: e.Status);
            }
            push.Accepted.AddRange(changes);
            push.Options = PushOptions.Parse(form["push_options[]"].Select(o => o ?? ""));
            return Results.Text("", "text/plain; charset=utf-8");
        });
}
