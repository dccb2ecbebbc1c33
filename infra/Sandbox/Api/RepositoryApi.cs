using System.Text.Json.Nodes;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

public static class RepositoryApi
{
    public static void MapRepositoryApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", "/projects/{id}/repository/branches", async r =>
        {
            var project = r.Project();
            var repo = r.Store.Repo(project);
            var search = r.Params.String("search");
            var defaultHead = await repo.BranchHeadAsync(project.DefaultBranch) ?? "";
            var list = new List<JsonNode>();
            foreach (var (name, sha) in (await repo.BranchesAsync()).Where(b => search is null || b.Name.Contains(search)).OrderBy(b => b.Name))
                list.Add(await BranchView(r, project, name, sha, defaultHead));
            return GitLabEndpoint.List(r, list);
        });

        app.MapGitLab("GET", "/projects/{id}/repository/branches/{branch}", async r =>
        {
            var project = r.Project();
            var repo = r.Store.Repo(project);
            var name = r.Route("branch");
            var sha = await repo.BranchHeadAsync(name) ?? throw GitLabError.NotFound("Branch");
            return GitLabEndpoint.Json(await BranchView(r, project, name, sha, await repo.BranchHeadAsync(project.DefaultBranch) ?? ""));
        });

        app.MapGitLab("POST", "/projects/{id}/repository/branches", async r =>
        {
            var project = r.Project();
            var name = r.Params.RequiredString("branch");
            var refName = r.Params.RequiredString("ref");
            if (!r.Store.CanPush(project, name, r.User)) throw GitLabError.Forbidden();
            var repo = r.Store.Repo(project);
            if ((await GitCli.TryRunAsync(null, ["check-ref-format", "--branch", name])).ExitCode != 0)
                throw GitLabError.BadRequest("Branch name is invalid");
            var sha = await repo.ResolveAsync(refName) ?? throw GitLabError.BadRequest("Invalid reference name: " + refName);
            if (!await repo.UpdateRefAsync($"refs/heads/{name}", sha, null)) throw GitLabError.BadRequest("Branch already exists");
            await r.Service<MergeRequestService>().NotifyPushedAsync(project, name, null, sha, r.User, PushOptions.None);
            return GitLabEndpoint.Json(await BranchView(r, project, name, sha, await repo.BranchHeadAsync(project.DefaultBranch) ?? ""), 201);
        });

        app.MapGitLab("DELETE", "/projects/{id}/repository/branches/{branch}", async r =>
        {
            var project = r.Project();
            var name = r.Route("branch");
            var repo = r.Store.Repo(project);
            var sha = await repo.BranchHeadAsync(name) ?? throw GitLabError.NotFound("Branch");
            if (name == project.DefaultBranch) throw GitLabError.BadRequest("The default branch of a project cannot be deleted.");
            if (project.IsProtected(name) || !r.Store.CanPush(project, name, r.User)) throw GitLabError.Forbidden();
            await repo.DeleteRefAsync($"refs/heads/{name}", sha);
            return Results.NoContent();
        });

        app.MapGitLab("POST", "/projects/{id}/repository/commits", async r =>
        {
            var project = r.Project();
            var branch = r.Params.RequiredString("branch");
            var message = r.Params.RequiredString("commit_message");
            var actions = (r.Params.Array("actions") ?? throw GitLabError.Missing("actions")).Select(ParseAction).ToList();
            if (actions.Count == 0) throw GitLabError.Missing("actions");
            if (!r.Store.CanPush(project, branch, r.User))
                throw GitLabError.Forbidden();
            var repo = r.Store.Repo(project);
            var head = await repo.BranchHeadAsync(branch);
            var parent = head;
            if (head is null)
            {
                var start = r.Params.String("start_sha") ?? r.Params.String("start_branch");
                parent = start is null ? null : await repo.ResolveAsync(start) ?? throw GitLabError.BadRequest($"Invalid start: {start}");
                if (parent is null && (await repo.BranchesAsync()).Count > 0)
                    throw GitLabError.BadRequest("You can only create or edit files when you are on a branch");
            }
            var author = new GitCli.Identity(r.Params.String("author_name") ?? r.User.Name, r.Params.String("author_email") ?? r.User.Email);
            string sha;
            try
            {
                sha = await TreeEditor.CommitAsync(repo, parent, actions, message, author, r.Store.Now);
            }
            catch (CommitActionException e)
            {
                throw GitLabError.BadRequest(e.Message);
            }
            if (!await repo.UpdateRefAsync($"refs/heads/{branch}", sha, head))
                throw GitLabError.BadRequest("Could not update the branch: it moved while the commit was being written");
            await r.Service<MergeRequestService>().NotifyPushedAsync(project, branch, head, sha, r.User, PushOptions.None);
            return GitLabEndpoint.Json(await CommitDetail(r, project, sha), 201);
        });

        app.MapGitLab("GET", "/projects/{id}/repository/commits", async r =>
        {
            var project = r.Project();
            var repo = r.Store.Repo(project);
            var refName = r.Params.String("ref_name") ?? project.DefaultBranch;
            var sha = await repo.ResolveAsync(refName);
            if (sha is null) return GitLabEndpoint.Json(new JsonArray());
            var log = await repo.LogAsync(sha, 500);
            return GitLabEndpoint.List(r, [.. log.Select(c => (JsonNode)r.Service<Views>().Commit(project, c))]);
        });

        app.MapGitLab("GET", "/projects/{id}/repository/commits/{sha}", async r =>
        {
            var project = r.Project();
            var sha = await r.Store.Repo(project).ResolveAsync(r.Route("sha")) ?? throw GitLabError.NotFound("Commit");
            return GitLabEndpoint.Json(await CommitDetail(r, project, sha));
        });

        app.MapGitLab("GET", "/projects/{id}/repository/files/{path}/raw", async r =>
        {
            var project = r.Project();
            var repo = r.Store.Repo(project);
            var refName = r.Params.String("ref") ?? project.DefaultBranch;
            var sha = await repo.ResolveAsync(refName) ?? throw GitLabError.NotFound("File");
            var bytes = await repo.ReadFileAsync(sha, r.Route("path")) ?? throw GitLabError.NotFound("File");
            r.Context.Response.Headers["X-Gitlab-Commit-Id"] = sha;
            return Results.Bytes(bytes, "text/plain; charset=utf-8");
        });

        app.MapGitLab("GET", "/projects/{id}/repository/merge_base", async r =>
        {
            var project = r.Project();
            var refs = r.Params.List("refs") ?? [];
            if (refs.Count < 2) throw GitLabError.BadRequest("Provide at least 2 refs");
            var repo = r.Store.Repo(project);
            var shas = new List<string>();
            var unknown = new List<string>();
            foreach (var name in refs)
            {
                if (await repo.ResolveAsync(name) is { } s) shas.Add(s); else unknown.Add(name);
            }
            if (unknown.Count > 0) throw GitLabError.BadRequest($"Could not find ref: {string.Join(", ", unknown)}");
            var result = await GitCli.TryRunAsync(repo.Path, ["merge-base", "--octopus", .. shas]);
            if (result.ExitCode != 0) throw GitLabError.NotFound("Merge Base");
            var commit = await repo.CommitAsync(result.Stdout.Trim());
            var view = r.Service<Views>().Commit(project, commit);
            view.Remove("trailers");
            view.Remove("web_url");
            return GitLabEndpoint.Json(view);
        });

        app.MapGitLab("GET", "/projects/{id}/repository/compare", async r =>
        {
            var project = r.Project();
            var repo = r.Store.Repo(project);
            var fromName = r.Params.RequiredString("from");
            var toName = r.Params.RequiredString("to");
            var from = await repo.ResolveAsync(fromName) ?? throw GitLabError.NotFound("Ref");
            var to = await repo.ResolveAsync(toName) ?? throw GitLabError.NotFound("Ref");
            var straight = r.Params.Bool("straight") ?? false;
            var start = straight ? from : await repo.MergeBaseAsync(from, to) ?? from;
            var commits = (await repo.LogAsync($"{start}..{to}")).Reverse().ToList();
            var diffs = await repo.DiffAsync(start, to);
            JsonObject Basic(CommitInfo c) => new()
            {
                ["id"] = c.Id, ["short_id"] = c.Id[..11], ["title"] = c.Title, ["author_name"] = c.AuthorName,
                ["author_email"] = c.AuthorEmail, ["created_at"] = c.CommittedDate.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz"),
            };
            return GitLabEndpoint.Json(new JsonObject
            {
                ["commit"] = commits.Count > 0 ? Basic(commits[^1]) : null,
                ["commits"] = new JsonArray([.. commits.Select(c => (JsonNode?)Basic(c))]),
                ["diffs"] = new JsonArray([.. diffs.Select(d => (JsonNode?)new JsonObject
                {
                    ["old_path"] = d.OldPath, ["new_path"] = d.NewPath, ["a_mode"] = d.AMode, ["b_mode"] = d.BMode,
                    ["diff"] = d.Diff, ["new_file"] = d.NewFile, ["renamed_file"] = d.RenamedFile, ["deleted_file"] = d.DeletedFile,
                })]),
                ["compare_timeout"] = false,
                ["compare_same_ref"] = from == to,
                ["web_url"] = r.Store.WebUrl($"{project.FullPath}/-/compare/{from}...{to}"),
            });
        });
    }

    private static async Task<JsonObject> BranchView(GitLabRequest r, Project project, string name, string sha, string defaultHead)
    {
        var repo = r.Store.Repo(project);
        var merged = name != project.DefaultBranch && defaultHead.Length > 0 && await repo.IsAncestorAsync(sha, defaultHead);
        return r.Service<Views>().Branch(project, name, await repo.CommitAsync(sha), defaultHead, merged, r.User);
    }

    /// <summary>The single-commit shape; pipeline fields stay null until the sandbox runs CI on the commit.</summary>
    public static async Task<JsonObject> CommitDetail(GitLabRequest r, Project project, string sha)
    {
        var repo = r.Store.Repo(project);
        var commit = await repo.CommitAsync(sha);
        var view = r.Service<Views>().Commit(project, commit);
        var numstat = await GitCli.RunAsync(repo.Path, "show", "--numstat", "--format=", commit.ParentIds.Count == 0 ? "--root" : "--first-parent", sha);
        int additions = 0, deletions = 0;
        foreach (var line in numstat.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            if (int.TryParse(parts[0], out var a)) additions += a;
            if (int.TryParse(parts[1], out var d)) deletions += d;
        }
        view["stats"] = new JsonObject { ["additions"] = additions, ["deletions"] = deletions, ["total"] = additions + deletions };
        view["status"] = null;
        view["last_pipeline"] = null;
        view["project_id"] = project.Id;
        return view;
    }

    private static CommitAction ParseAction(JsonNode? node)
    {
        if (node is not JsonObject o) throw GitLabError.Invalid("actions");
        string? S(string k) => o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var action = S("action") ?? throw GitLabError.Missing("actions[action]");
        var path = S("file_path") ?? throw GitLabError.Missing("actions[file_path]");
        bool? exec = o["execute_filemode"] is JsonValue e && e.TryGetValue<bool>(out var b) ? b : null;
        return new CommitAction(action, path, S("previous_path"), S("content"), S("encoding") ?? "text", exec);
    }
}
