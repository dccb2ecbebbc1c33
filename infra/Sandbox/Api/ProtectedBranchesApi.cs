using System.Text.Json.Nodes;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

/// <summary>GitLab's protected branches API (doc/api/protected_branches.md): rules by exact name or wildcard.</summary>
public static class ProtectedBranchesApi
{
    private const string Base = "/projects/{id}/protected_branches";

    public static void MapProtectedBranchesApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", Base, r =>
        {
            var project = ReadableProject(r);
            var search = r.Params.String("search");
            var rules = project.ProtectedBranches.Where(p => search is null || p.Name.Contains(search, StringComparison.OrdinalIgnoreCase));
            return GitLabEndpoint.List(r, [.. rules.Select(p => (JsonNode)View(r.Store, p))]);
        });

        app.MapGitLab("GET", Base + "/{name}", r => GitLabEndpoint.Json(View(r.Store, Find(r, ReadableProject(r)))));

        app.MapGitLab("POST", Base, r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            var name = r.Params.RequiredString("name");
            if (project.ProtectedBranches.Any(p => p.Name == name)) throw GitLabError.Conflict($"Protected branch '{name}' already exists");
            var rule = r.Store.Protect(project, name, Access(r, "push"), Access(r, "merge"), r.Params.Bool("allow_force_push") ?? false);
            return GitLabEndpoint.Json(View(r.Store, rule), 201);
        });

        app.MapGitLab("DELETE", Base + "/{name}", r =>
        {
            var project = r.Project();
            var rule = Find(r, project);
            r.RequireAccess(project, AccessLevel.Maintainer);
            project.ProtectedBranches.Remove(rule);
            return Results.NoContent();
        });
    }

    /// <summary>GitLab's authorize_read_code!: anyone on a public or internal project, Reporters and more on a private one.</summary>
    private static Project ReadableProject(GitLabRequest r)
    {
        var project = r.Project();
        if (project.Visibility == "private") r.RequireAccess(project, AccessLevel.Reporter);
        return project;
    }

    /// <summary>By its exact name (a wildcard rule by its pattern), as GitLab's <c>find_by!(name:)</c>.</summary>
    private static ProtectedBranch Find(GitLabRequest r, Project project) =>
        project.ProtectedBranches.FirstOrDefault(p => p.Name == r.Route("name")) ?? throw GitLabError.RecordNotFound();

    /// <summary>
    /// <c>push_access_level</c>/<c>merge_access_level</c> (default Maintainers) and the <c>allowed_to_push</c>/<c>allowed_to_merge</c>
    /// entries (<c>user_id</c> or <c>access_level</c>); as GitLab, the default role is left out when only entries are given.
    /// </summary>
    private static List<(int? Level, long? UserId)> Access(GitLabRequest r, string action)
    {
        var levelParam = $"{action}_access_level";
        var level = r.Params.Long(levelParam);
        if (level is { } l && !BranchAccess.IsAllowedLevel(l)) throw new GitLabError(400, new JsonObject { ["error"] = $"{levelParam} does not have a valid value" });
        var entries = new List<(int? Level, long? UserId)>();
        foreach (var entry in r.Params.Array($"allowed_to_{action}") ?? [])
        {
            if (entry is not JsonObject o) throw GitLabError.Invalid($"allowed_to_{action}");
            if (o["user_id"] is JsonValue u && u.TryGetValue<long>(out var userId)) entries.Add((null, r.Store.UserById(userId).Id));
            else if (o["access_level"] is JsonValue a && a.TryGetValue<long>(out var role) && BranchAccess.IsAllowedLevel(role)) entries.Add(((int)role, null));
            else throw GitLabError.Invalid($"allowed_to_{action}");
        }
        if (level is not null || entries.Count == 0) entries.Insert(0, ((int)(level ?? AccessLevel.Maintainer), null));
        return entries;
    }

    private static JsonObject View(SandboxStore store, ProtectedBranch rule) => new()
    {
        ["id"] = rule.Id,
        ["name"] = rule.Name,
        ["push_access_levels"] = AccessLevels(store, rule.PushAccess),
        ["merge_access_levels"] = AccessLevels(store, rule.MergeAccess),
        ["allow_force_push"] = rule.AllowForcePush,
        ["code_owner_approval_required"] = false,
    };

    // The Premium shape (user_id, group_id) because the sandbox grants to users; a user entry has no role and is described by name.
    private static JsonArray AccessLevels(SandboxStore store, IEnumerable<BranchAccess> levels) =>
        new([.. levels.Select(a => (JsonNode?)new JsonObject
        {
            ["id"] = a.Id,
            ["access_level"] = a.AccessLevel,
            ["access_level_description"] = a.UserId is { } userId ? store.UserById(userId).Name : BranchAccess.Describe(a.AccessLevel ?? 0),
            ["user_id"] = a.UserId,
            ["group_id"] = null,
        })]);
}
