using System.Text.Json.Nodes;
using Sandbox.Ci;
using Sandbox.Http;
using Sandbox.Model;
using Sandbox.Registry;

namespace Sandbox.Api;

/// <summary>
/// GitLab's registry token endpoint (<c>/jwt/auth</c>): HTTP Basic with a username and a personal access token,
/// or <c>gitlab-ci-token</c> and a job's <c>CI_JOB_TOKEN</c>; anonymous callers may pull public projects.
/// Each requested scope is granted only the actions the caller's access allows, as GitLab does.
/// </summary>
public static class JwtAuthApi
{
    public static void MapJwtAuthApi(this IEndpointRouteBuilder app) =>
        app.MapGet("/jwt/auth", async (HttpContext context, SandboxStore store, TokenIssuer issuer, JobExecutor jobs) =>
        {
            User? user = null;
            Job? job = null;
            if (GitClientAuth.BasicCredentials(context) is var (login, password))
            {
                var client = GitClientAuth.Find(store, jobs, login, password);
                if (client is null || (client.Job is null && !string.Equals(client.User.Username, login, StringComparison.OrdinalIgnoreCase)))
                    return GitLabEndpoint.Json(new JsonObject
                    {
                        ["errors"] = new JsonArray(new JsonObject { ["code"] = "UNAUTHORIZED", ["message"] = "HTTP Basic: Access denied" }),
                    }, 401);
                (user, job) = (client.User, client.Job);
            }
            if (context.Request.Query["service"].FirstOrDefault() != TokenIssuer.Service)
                return GitLabEndpoint.Json(new JsonObject { ["message"] = "403 Forbidden" }, 403);
            var granted = new List<RegistryAccess>();
            foreach (var scope in context.Request.Query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            {
                if (RegistryAccess.Parse(scope) is not { } wanted) continue;
                var actions = await AllowedAsync(store, wanted, user, job);
                if (actions.Count > 0) granted.Add(wanted with { Actions = actions });
            }
            var token = issuer.Mint(user?.Username ?? "", granted, store.Now);
            return GitLabEndpoint.Json(new JsonObject
            {
                ["token"] = token,
                ["access_token"] = token,
                ["expires_in"] = (int)TokenIssuer.Lifetime.TotalSeconds,
                ["issued_at"] = Views.Time(store.Now),
            });
        });

    private static async Task<List<string>> AllowedAsync(SandboxStore store, RegistryAccess wanted, User? user, Job? job)
    {
        if (wanted.Type == "registry" && wanted.Name == "catalog")
            return user is { IsAdmin: true } && job is null ? [.. wanted.Actions] : [];
        if (wanted.Type != "repository") return [];
        // The project is the longest project path the repository name starts with.
        var project = store.Projects.Values
            .Where(p => wanted.Name == p.FullPath.ToLowerInvariant() || wanted.Name.StartsWith(p.FullPath.ToLowerInvariant() + "/"))
            .MaxBy(p => p.FullPath.Length);
        if (project is null) return [];
        // Its rights read its protected branches and merge requests: under its lock.
        await using (await store.LockAsync(project))
            return Allowed(store, project, wanted, user, job);
    }

    private static List<string> Allowed(SandboxStore store, Project project, RegistryAccess wanted, User? user, Job? job)
    {
        var level = user is null ? 0 : store.AccessLevelOf(project, user);
        var canRead = project.Visibility == "public" || (user is not null && store.CanRead(project, user));
        // A job token writes only to its own project's registry, with the rights of whoever ran the pipeline there —
        // including an upstream maintainer running it on a fork branch that allows collaboration.
        var canWrite = job is null
            ? level >= AccessLevel.Developer
            : job.Pipeline.ProjectId == project.Id && (level >= AccessLevel.Developer || store.CanPush(project, job.Pipeline.Ref, user!));
        // GitLab grants delete as :destroy_container_image (Developers); "*" stays an administrator's.
        var canDelete = level >= AccessLevel.Maintainer && job is null;
        return [.. wanted.Actions.Where(a => a switch
        {
            "pull" => canRead,
            "push" => canWrite,
            "delete" => level >= AccessLevel.Developer && job is null,
            "*" => canDelete,
            _ => false,
        })];
    }
}
