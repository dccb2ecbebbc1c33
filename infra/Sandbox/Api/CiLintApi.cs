using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Ci;
using Sandbox.Http;
using Sandbox.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sandbox.Api;

/// <summary>
/// GitLab's project CI lint (<c>lib/api/lint.rb</c>): <c>GET /projects/:id/ci/lint</c> lints <c>.gitlab-ci.yml</c> at
/// <c>content_ref</c> (or the deprecated <c>sha</c>; default: the default branch's head), <c>POST</c> lints
/// <c>content</c> with local includes read at the default branch. The answer has GitLab's fields: <c>valid</c>,
/// <c>errors</c>, <c>warnings</c>, <c>merged_yaml</c>, <c>includes</c>.
/// Where the sandbox differs, on purpose: only <c>include: local:</c> (and its short string form) is resolved, nested
/// too; a remote, project, template or component include is reported as an error (the sandbox has no network and no
/// template library), which makes <c>merged_yaml</c> null as GitLab's is when includes fail. <c>merged_yaml</c> keeps
/// <c>extends:</c> as written rather than inlined, since the ci-templates template the sandbox provides is built in,
/// not YAML, and leaves out the <c>.pre</c>/<c>.post</c> stages GitLab adds. Validity is the sandbox's own pipeline
/// reading (<see cref="PipelineConfig"/>), so lint and pipelines agree. <c>dry_run</c> and <c>include_jobs</c> are
/// accepted and not simulated.
/// </summary>
public static class CiLintApi
{
    private const string MainFile = ".gitlab-ci.yml";
    // GitLab's limits: 150 included files; deeper nesting is refused.
    private const int MaxIncludes = 150;

    public static void MapCiLintApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", "/projects/{id}/ci/lint", async r =>
        {
            var project = r.Project();
            var repo = r.Store.Repo(project);
            var reference = r.Params.String("content_ref") ?? r.Params.String("sha") ?? project.DefaultBranch;
            var sha = await repo.ResolveAsync(reference);
            string? content = sha is null ? null : Text(await repo.ReadFileAsync(sha, MainFile));
            return GitLabEndpoint.Json(await LintAsync(r, project, sha, content));
        });

        app.MapGitLab("POST", "/projects/{id}/ci/lint", async r =>
        {
            var project = r.Project();
            var content = r.Params.String("content") ?? throw GitLabError.Missing("content");
            var sha = await r.Store.Repo(project).BranchHeadAsync(project.DefaultBranch);
            return GitLabEndpoint.Json(await LintAsync(r, project, sha, content));
        });
    }

    private static string? Text(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);

    private static async Task<JsonObject> LintAsync(GitLabRequest r, Project project, string? sha, string? content)
    {
        var repo = r.Store.Repo(project);
        async Task<string?> Read(string path) => sha is null ? null : Text(await repo.ReadFileAsync(sha, path.TrimStart('/')));
        if (string.IsNullOrWhiteSpace(content)) return Answer(["Please provide content of .gitlab-ci.yml"], null, []);

        var includes = new JsonArray();
        var errors = new List<string>();
        var merged = await MergeAsync(content, MainFile, Read, [], includes, errors, r, project, sha);
        try
        {
            await PipelineConfig.LoadAsync(path => path == MainFile ? Task.FromResult<string?>(content) : Read(path));
        }
        catch (CiConfigException e)
        {
            if (!errors.Contains(e.Message)) errors.Add(e.Message);
        }
        catch (YamlException e)
        {
            if (errors.Count == 0) errors.Add($"Invalid configuration format: {e.Message}");
        }
        return Answer(errors, merged is null ? null : Emit(merged), includes);
    }

    private static JsonObject Answer(IReadOnlyList<string> errors, string? mergedYaml, JsonArray includes) => new()
    {
        ["valid"] = errors.Count == 0,
        ["errors"] = new JsonArray([.. errors.Select(e => (JsonNode?)e)]),
        ["warnings"] = new JsonArray(),
        ["merged_yaml"] = mergedYaml,
        ["includes"] = includes,
    };

    /// <summary>The file with its local includes folded in (each include's own includes first), the file's own keys winning; null when an include fails.</summary>
    private static async Task<YamlMappingNode?> MergeAsync(string text, string location, Func<string, Task<string?>> read, HashSet<string> chain,
        JsonArray includes, List<string> errors, GitLabRequest r, Project project, string? sha)
    {
        var root = Parse(text);
        if (root is null)
        {
            errors.Add(location == MainFile ? "Invalid configuration format" : $"Included file `{location}` does not have valid YAML syntax!");
            return null;
        }
        var merged = new YamlMappingNode();
        var includeKey = new YamlScalarNode("include");
        if (root.Children.TryGetValue(includeKey, out var include))
        {
            foreach (var item in include is YamlSequenceNode list ? list.Children : [include])
            {
                var path = Local(item, errors);
                if (path is null) return null;
                if (includes.Count >= MaxIncludes) { errors.Add($"Maximum of {MaxIncludes} nested includes are allowed!"); return null; }
                if (!chain.Add(path)) { errors.Add($"Included file `{path}` is included more than once in a cycle"); return null; }
                var included = await read(path);
                if (included is null) { errors.Add($"Local file `{path}` does not exist!"); return null; }
                includes.Add(IncludeView(r, project, sha, path));
                var nested = await MergeAsync(included, path, read, chain, includes, errors, r, project, sha);
                chain.Remove(path);
                if (nested is null) return null;
                PipelineConfig.DeepMerge(merged, nested);
            }
        }
        var own = new YamlMappingNode();
        foreach (var (k, v) in root.Children) if (!k.Equals(includeKey)) own.Children[k] = v;
        PipelineConfig.DeepMerge(merged, own);
        return merged;
    }

    private static string? Local(YamlNode item, List<string> errors)
    {
        if (item is YamlScalarNode { Value: { } shortForm })
        {
            if (!shortForm.Contains("://")) return shortForm.TrimStart('/');
            errors.Add($"Included file kind `remote` ({shortForm}) is not available in the sandbox");
            return null;
        }
        if (item is YamlMappingNode m)
        {
            if (m.Children.TryGetValue(new YamlScalarNode("local"), out var local) && local is YamlScalarNode { Value: { } path })
                return path.TrimStart('/');
            var kind = m.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value).FirstOrDefault(k => k is "remote" or "project" or "template" or "component");
            errors.Add(kind is null ? "Included file is invalid" : $"Included file kind `{kind}` is not available in the sandbox");
            return null;
        }
        errors.Add("Included file is invalid");
        return null;
    }

    private static JsonObject IncludeView(GitLabRequest r, Project project, string? sha, string path) => new()
    {
        ["type"] = "local",
        ["location"] = path,
        ["blob"] = r.Store.WebUrl($"{project.FullPath}/-/blob/{sha}/{path}"),
        ["raw"] = r.Store.WebUrl($"{project.FullPath}/-/raw/{sha}/{path}"),
        ["extra"] = new JsonObject(),
        ["context_project"] = project.FullPath,
        ["context_sha"] = sha,
    };

    private static YamlMappingNode? Parse(string text)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null;
        }
        catch (YamlException)
        {
            return null;
        }
    }

    // Ruby's to_yaml starts the document with "---" and ends it with none.
    private static string Emit(YamlMappingNode merged)
    {
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(merged)).Save(writer, assignAnchors: false);
        var text = writer.ToString().TrimEnd();
        if (text.EndsWith("...", StringComparison.Ordinal)) text = text[..^3].TrimEnd();
        return (text.StartsWith("---", StringComparison.Ordinal) ? text : "---\n" + text) + "\n";
    }
}
