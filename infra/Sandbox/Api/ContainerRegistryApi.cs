using System.Text.Json.Nodes;
using Sandbox.Http;
using Sandbox.Model;
using Sandbox.Registry;

namespace Sandbox.Api;

/// <summary>GitLab's container registry API, answered from the real registry (catalog, tags, manifests).</summary>
public static class ContainerRegistryApi
{
    public static void MapContainerRegistryApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", "/projects/{id}/registry/repositories", async r =>
        {
            var project = r.Project();
            var list = new List<JsonNode>();
            foreach (var path in await RepositoriesOf(r, project))
                list.Add(await RepositoryView(r, project, path, r.Params.Bool("tags") ?? false, r.Params.Bool("tags_count") ?? false, false));
            return GitLabEndpoint.List(r, list);
        });

        app.MapGitLab("GET", "/registry/repositories/{repositoryId}", async r =>
        {
            var (project, path) = FindRepository(r, r.RouteLong("repositoryId", "Repository"));
            return GitLabEndpoint.Json(await RepositoryView(r, project, path, r.Params.Bool("tags") ?? false,
                r.Params.Bool("tags_count") ?? false, r.Params.Bool("size") ?? false));
        });

        app.MapGitLab("GET", "/projects/{id}/registry/repositories/{repositoryId}/tags", async r =>
        {
            var project = r.Project();
            var (owner, path) = FindRepository(r, r.RouteLong("repositoryId", "Repository"));
            if (owner.Id != project.Id) throw GitLabError.NotFound("Repository");
            var tags = await Client(r).TagsAsync(path);
            return GitLabEndpoint.List(r, [.. tags.Select(t => (JsonNode)TagBasic(r, path, t))]);
        });

        app.MapGitLab("GET", "/projects/{id}/registry/repositories/{repositoryId}/tags/{tag}", async r =>
        {
            var project = r.Project();
            var (owner, path) = FindRepository(r, r.RouteLong("repositoryId", "Repository"));
            if (owner.Id != project.Id) throw GitLabError.NotFound("Repository");
            var tag = r.Route("tag");
            var client = Client(r);
            var manifest = await client.GetManifestAsync(path, tag) ?? throw GitLabError.NotFound("Tag");
            var json = manifest.Json;
            var configDigest = json["config"]!["digest"]!.GetValue<string>();
            var config = JsonNode.Parse(await client.GetBlobAsync(path, configDigest))!;
            var view = TagBasic(r, path, tag);
            view["revision"] = configDigest["sha256:".Length..];
            view["short_revision"] = configDigest["sha256:".Length..][..9];
            view["digest"] = manifest.Digest;
            view["created_at"] = config["created"]?.GetValue<string>() ?? Views.Time(r.Store.Now);
            view["total_size"] = json["layers"]!.AsArray().Sum(l => l!["size"]!.GetValue<long>()) + json["config"]!["size"]!.GetValue<long>();
            return GitLabEndpoint.Json(view);
        });

        // GitLab's :destroy_container_image is a Developer's right; the tag alone goes, not its digest's other tags.
        app.MapGitLab("DELETE", "/projects/{id}/registry/repositories/{repositoryId}/tags/{tag}", async r =>
        {
            var project = r.Project();
            var (owner, path) = FindRepository(r, r.RouteLong("repositoryId", "Repository"));
            if (owner.Id != project.Id) throw GitLabError.NotFound("Repository");
            r.RequireAccess(project, AccessLevel.Developer);
            var tag = r.Route("tag");
            var client = Client(r);
            if (await client.GetManifestAsync(path, tag) is null) throw GitLabError.NotFound("Tag");
            await TagDeletion.DeleteAsync(client, path, tag);
            return Results.Ok();
        });
    }

    /// <summary>The registry as GitLab's own Rails side sees it: a self-issued token with catalog and pull rights.</summary>
    private static RegistryClient Client(GitLabRequest r)
    {
        var issuer = r.Service<TokenIssuer>();
        var registry = r.Service<RegistryProcess>();
        var now = r.Store.Now;
        return new RegistryClient(r.Service<IHttpClientFactory>().CreateClient("registry"), registry.BaseUrl,
            scopes => Task.FromResult<string?>(issuer.Mint("gitlab-sandbox", [.. scopes.Select(s => RegistryAccess.Parse(s)!)], now)));
    }

    private static async Task<IReadOnlyList<string>> RepositoriesOf(GitLabRequest r, Project project)
    {
        var prefix = project.FullPath.ToLowerInvariant();
        var others = r.Store.Projects.Values.Where(p => p.Id != project.Id && p.FullPath.ToLowerInvariant().StartsWith(prefix + "/"))
            .Select(p => p.FullPath.ToLowerInvariant() + "/").ToList();
        return [.. (await Client(r).CatalogAsync())
            .Where(c => c == prefix || c.StartsWith(prefix + "/"))
            .Where(c => !others.Any(o => c.StartsWith(o)))
            .Order()];
    }

    private static async Task<JsonObject> RepositoryView(GitLabRequest r, Project project, string path, bool tags, bool tagsCount, bool size)
    {
        var registry = r.Service<RegistryProcess>();
        var prefix = project.FullPath.ToLowerInvariant();
        var o = new JsonObject
        {
            ["id"] = RepositoryId(r.Store, project, path),
            ["name"] = path == prefix ? "" : path[(prefix.Length + 1)..],
            ["path"] = path,
            ["project_id"] = project.Id,
            ["location"] = $"{registry.Host}/{path}",
            ["created_at"] = Views.Time(project.CreatedAt),
            ["cleanup_policy_started_at"] = null,
            ["status"] = null,
        };
        if (tags || tagsCount || size)
        {
            var client = Client(r);
            var names = await client.TagsAsync(path);
            if (tagsCount) o["tags_count"] = names.Count;
            if (tags) o["tags"] = new JsonArray([.. names.Select(t => (JsonNode?)TagBasic(r, path, t))]);
            if (size)
            {
                long total = 0;
                foreach (var t in names)
                    if (await client.GetManifestAsync(path, t) is { } m)
                        total += m.Json["layers"]!.AsArray().Sum(l => l!["size"]!.GetValue<long>());
                o["size"] = total;
            }
        }
        return o;
    }

    private static JsonObject TagBasic(GitLabRequest r, string path, string tag) => new()
    {
        ["name"] = tag,
        ["path"] = $"{path}:{tag}",
        ["location"] = $"{r.Service<RegistryProcess>().Host}/{path}:{tag}",
    };

    // One id table per sandbox: tests run several sandboxes in one process, and ids from different stores collide.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SandboxStore, Dictionary<string, long>> IdTables = new();

    private static long RepositoryId(SandboxStore store, Project project, string path)
    {
        var ids = IdTables.GetOrCreateValue(store);
        lock (ids)
        {
            if (!ids.TryGetValue(path, out var id)) ids[path] = id = store.NewId();
            return id;
        }
    }

    private static (Project Project, string Path) FindRepository(GitLabRequest r, long id)
    {
        string? path;
        var ids = IdTables.GetOrCreateValue(r.Store);
        lock (ids) path = ids.FirstOrDefault(kv => kv.Value == id).Key;
        if (path is null) throw GitLabError.NotFound("Repository");
        var project = r.Store.Projects.Values
            .Where(p => path == p.FullPath.ToLowerInvariant() || path.StartsWith(p.FullPath.ToLowerInvariant() + "/"))
            .MaxBy(p => p.FullPath.Length) ?? throw GitLabError.NotFound("Repository");
        if (!r.Store.CanRead(project, r.User)) throw GitLabError.NotFound("Repository");
        return (project, path);
    }
}
