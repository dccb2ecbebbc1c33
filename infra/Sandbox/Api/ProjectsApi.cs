using System.Text.Json.Nodes;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

public static class ProjectsApi
{
    public static void MapProjectsApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("POST", "/projects", async r =>
        {
            var name = r.Params.String("name");
            var path = r.Params.String("path");
            if (string.IsNullOrEmpty(name) && string.IsNullOrEmpty(path)) throw GitLabError.BadRequest("name, path are missing, at least one parameter must be provided");
            path ??= Slug(name!);
            name ??= path;
            var (nsId, nsPath, nsKind) = Namespace(r, r.Params.Long("namespace_id"));
            // Under the registry lock (a creation outside any project); others find the project once it is all set up.
            var project = await CreateAsync(r, name, path, nsId, nsPath, nsKind, forkedFrom: null);
            project.Description = r.Params.String("description") ?? "";
            project.Visibility = r.Params.String("visibility") ?? "private";
            project.MergeMethod = r.Params.String("merge_method") ?? "merge";
            project.SquashOption = SquashOption(r.Params.String("squash_option")) ?? "default_off";
            project.ApprovalsRequired = (int)(r.Params.Long("approvals_before_merge") ?? 0);
            project.OnlyAllowMergeIfAllDiscussionsAreResolved = r.Params.Bool("only_allow_merge_if_all_discussions_are_resolved") ?? false;
            project.DefaultBranch = r.Params.String("default_branch") ?? "main";
            project.CiAllowForkPipelinesToRunInParentProject = r.Params.Bool("ci_allow_fork_pipelines_to_run_in_parent_project") ?? true;
            await GitCli.RunAsync(project.RepoPath, "symbolic-ref", "HEAD", $"refs/heads/{project.DefaultBranch}");
            if (r.Params.Bool("initialize_with_readme") == true)
            {
                var repo = r.Store.Repo(project);
                var sha = await TreeEditor.CommitAsync(repo, null,
                    [new CommitAction("create", "README.md", null, $"# {project.Name}\n", "text", false)],
                    "Initial commit", new(r.User.Name, r.User.Email), r.Store.Now);
                await repo.UpdateRefAsync($"refs/heads/{project.DefaultBranch}", sha, null);
                r.Store.ProtectForMaintainers(project, project.DefaultBranch);
            }
            r.Store.Projects[project.Id] = project;
            return GitLabEndpoint.Json(r.Service<Views>().Project(project, r.User), 201);
        });

        app.MapGitLab("GET", "/projects", r =>
        {
            var visible = r.Store.Projects.Values.Where(p => r.Store.CanRead(p, r.User))
                .Where(p => r.Params.Bool("membership") != true || r.Store.AccessLevelOf(p, r.User) > 0)
                .OrderByDescending(p => p.Id);
            return GitLabEndpoint.List(r, [.. visible.Select(p => (JsonNode)r.Service<Views>().Project(p, r.User))]);
        });

        app.MapGitLab("GET", "/projects/{id}", r => GitLabEndpoint.Json(r.Service<Views>().Project(r.Project(), r.User)));

        app.MapGitLab("PUT", "/projects/{id}", async r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            if (r.Params.String("merge_method") is { } method)
                project.MergeMethod = method is "merge" or "rebase_merge" or "ff" ? method : throw GitLabError.Invalid("merge_method");
            if (SquashOption(r.Params.String("squash_option")) is { } squash) project.SquashOption = squash;
            if (r.Params.Long("approvals_before_merge") is { } approvals) project.ApprovalsRequired = (int)approvals;
            if (r.Params.Bool("only_allow_merge_if_all_discussions_are_resolved") is { } d) project.OnlyAllowMergeIfAllDiscussionsAreResolved = d;
            if (r.Params.String("visibility") is { } v) project.Visibility = v;
            if (r.Params.Bool("ci_allow_fork_pipelines_to_run_in_parent_project") is { } forks) project.CiAllowForkPipelinesToRunInParentProject = forks;
            if (r.Params.String("description") is { } desc) project.Description = desc;
            if (r.Params.String("default_branch") is { } b)
            {
                if (await r.Store.Repo(project).BranchHeadAsync(b) is null) throw GitLabError.BadRequest("Could not change HEAD: branch not found");
                project.DefaultBranch = b;
                await GitCli.RunAsync(project.RepoPath, "symbolic-ref", "HEAD", $"refs/heads/{b}");
            }
            return GitLabEndpoint.Json(r.Service<Views>().Project(project, r.User));
        });

        app.MapGitLab("POST", "/projects/{id}/fork", async r =>
        {
            var upstream = r.Project();
            var (nsId, nsPath, nsKind) = r.Params.String("namespace_path") is { } nsp
                ? NamespaceByPath(r, nsp)
                : Namespace(r, r.Params.Long("namespace_id") ?? r.Params.Long("namespace"));
            var path = r.Params.String("path") ?? upstream.Path;
            // The upstream's network lock is held (the route names it) and the fork joins that network; the
            // registry lock keeps its name unique.
            Project fork;
            await using (await r.Store.EnterRegistryAsync())
            {
                fork = await CreateAsync(r, r.Params.String("name") ?? upstream.Name, path, nsId, nsPath, nsKind, upstream);
                fork.Visibility = upstream.Visibility;
                fork.DefaultBranch = upstream.DefaultBranch;
                fork.MergeMethod = upstream.MergeMethod;
                r.Store.Projects[fork.Id] = fork;
            }
            return GitLabEndpoint.Json(r.Service<Views>().Project(fork, r.User), 201);
        });

        app.MapGitLab("GET", "/projects/{id}/members", r => Members(r, inherited: false));
        app.MapGitLab("GET", "/projects/{id}/members/all", r => Members(r, inherited: true));

        app.MapGitLab("GET", "/projects/{id}/members/all/{userId}", r =>
        {
            var project = r.Project();
            // GitLab looks the member up with find_by!, so a non-member is ActiveRecord's 404, not "404 Member Not Found".
            var userId = long.TryParse(r.Route("userId"), out var id) ? id : throw GitLabError.RecordNotFound();
            var member = Memberships(r, project, inherited: true).GetValueOrDefault(userId) ?? throw GitLabError.RecordNotFound();
            return GitLabEndpoint.Json(r.Service<Views>().Member(r.Store.UserById(userId), member.Level, member.Origin, r.User));
        });

        app.MapGitLab("POST", "/projects/{id}/members", r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            var user = r.Store.UserById(r.Params.RequiredLong("user_id"));
            var level = (int)r.Params.RequiredLong("access_level");
            if (level is not (10 or 20 or 30 or 40 or 50)) throw GitLabError.Invalid("access_level");
            if (level == AccessLevel.Owner && r.Store.AccessLevelOf(project, r.User) < AccessLevel.Owner) throw GitLabError.Forbidden();
            if (project.Members.ContainsKey(user.Id)) throw GitLabError.Conflict("Member already exists");
            project.Members[user.Id] = level;
            var origin = project.MemberOrigins[user.Id] = new MemberOrigin(r.Store.Now, r.User.Id);
            return GitLabEndpoint.Json(r.Service<Views>().Member(user, level, origin, r.User), 201);
        });

        // Edit a direct member's role (GitLab's PUT /projects/:id/members/:user_id): the way a maintainer is demoted.
        app.MapGitLab("PUT", "/projects/{id}/members/{userId}", r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            var userId = long.TryParse(r.Route("userId"), out var id) ? id : throw GitLabError.RecordNotFound();
            if (!project.Members.TryGetValue(userId, out var current)) throw GitLabError.RecordNotFound();
            var level = (int)r.Params.RequiredLong("access_level");
            if (level is not (10 or 20 or 30 or 40 or 50)) throw GitLabError.Invalid("access_level");
            var mine = r.Store.AccessLevelOf(project, r.User);
            if ((level == AccessLevel.Owner || current == AccessLevel.Owner) && mine < AccessLevel.Owner) throw GitLabError.Forbidden();
            project.Members[userId] = level;
            return GitLabEndpoint.Json(r.Service<Views>().Member(r.Store.UserById(userId), level, project.MemberOrigins.GetValueOrDefault(userId), r.User));
        });
    }

    private sealed record Membership(int Level, MemberOrigin? Origin);

    /// <summary>Direct members, and with <paramref name="inherited"/> the group's too (the higher role wins, as GitLab shows it).</summary>
    private static Dictionary<long, Membership> Memberships(GitLabRequest r, Project project, bool inherited)
    {
        var all = project.Members.ToDictionary(m => m.Key, m => new Membership(m.Value, project.MemberOrigins.GetValueOrDefault(m.Key)));
        if (inherited && project.NamespaceKind == "group" && r.Store.Groups.TryGetValue(project.NamespaceId, out var group))
            foreach (var (id, level) in group.Members)
                if (level > (all.GetValueOrDefault(id)?.Level ?? 0))
                    all[id] = new Membership(level, group.MemberOrigins.GetValueOrDefault(id));
        return all;
    }

    private static IResult Members(GitLabRequest r, bool inherited)
    {
        var project = r.Project();
        var views = Memberships(r, project, inherited).OrderBy(m => m.Key)
            .Select(m => (JsonNode)r.Service<Views>().Member(r.Store.UserById(m.Key), m.Value.Level, m.Value.Origin, r.User));
        return GitLabEndpoint.List(r, [.. views]);
    }

    /// <summary>A new project and its repository, under the registry lock; the caller registers it once it is set up.</summary>
    private static async Task<Project> CreateAsync(GitLabRequest r, string name, string path, long nsId, string nsPath, string nsKind, Project? forkedFrom)
    {
        if (r.Store.Projects.Values.Any(p => p.NamespaceId == nsId && p.NamespaceKind == nsKind && string.Equals(p.Path, path, StringComparison.OrdinalIgnoreCase)))
            throw new GitLabError(forkedFrom is null ? 400 : 409, new JsonObject
            {
                ["message"] = new JsonObject
                {
                    ["name"] = new JsonArray("has already been taken"), ["path"] = new JsonArray("has already been taken"),
                },
            });
        var id = r.Store.NewId();
        var repoPath = Path.Combine(r.Store.DataDir, "repos", $"{id}.git");
        if (forkedFrom is null)
            await Repository.InitAsync(repoPath, "main");
        else
            await Repository.CloneBareAsync(forkedFrom.RepoPath, repoPath);
        var project = new Project
        {
            Id = id, Name = name, Path = path, NamespaceId = nsId, NamespacePath = nsPath, NamespaceKind = nsKind, RepoPath = repoPath,
            CreatorId = r.User.Id, CreatedAt = r.Store.Now, LastActivityAt = r.Store.Now, ForkedFromId = forkedFrom?.Id,
        };
        if (nsKind == "user") project.Members[r.User.Id] = AccessLevel.Owner;
        return project;
    }

    private static (long Id, string Path, string Kind) Namespace(GitLabRequest r, long? namespaceId)
    {
        if (namespaceId is null || namespaceId == r.User.Id) return (r.User.Id, r.User.Username, "user");
        if (r.Store.Groups.TryGetValue(namespaceId.Value, out var group))
        {
            if (!r.User.IsAdmin && group.Members.GetValueOrDefault(r.User.Id) < AccessLevel.Maintainer) throw GitLabError.Forbidden();
            return (group.Id, group.Path, "group");
        }
        throw GitLabError.NotFound("Namespace");
    }

    private static (long Id, string Path, string Kind) NamespaceByPath(GitLabRequest r, string path)
    {
        if (path == r.User.Username) return (r.User.Id, r.User.Username, "user");
        var group = r.Store.Groups.Values.FirstOrDefault(g => g.Path == path) ?? throw GitLabError.NotFound("Namespace");
        return Namespace(r, group.Id);
    }

    private static string Slug(string name) =>
        new string([.. name.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]).Trim('-');

    private static string? SquashOption(string? value) =>
        value is null or "never" or "always" or "default_on" or "default_off" ? value : throw GitLabError.Invalid("squash_option");
}
