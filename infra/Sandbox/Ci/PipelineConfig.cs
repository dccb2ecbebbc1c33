using YamlDotNet.RepresentationModel;

namespace Sandbox.Ci;

public sealed class CiConfigException(string message) : Exception(message);

/// <summary>
/// The documented subset of <c>.gitlab-ci.yml</c> the sandbox runs: <c>stages</c>, top-level <c>variables</c>,
/// <c>include</c> (local files), jobs with <c>stage</c>, <c>script</c> (also <c>before_script</c>), <c>variables</c>,
/// <c>needs</c>, <c>extends</c>, <c>image</c>, <c>when</c> (on_success, manual), <c>allow_failure</c>. Hidden jobs
/// (a leading '.') are templates only. The sandbox provides ci-templates' container job as the template
/// <c>.fdo.container-build@debian</c> (alias <c>.fdo.container-build</c>).
/// </summary>
public static class PipelineConfig
{
    public const string ContainerBuildTemplate = ".fdo.container-build@debian";
    private static readonly string[] Reserved = ["stages", "variables", "include", "default", "workflow", "image", "services", "before_script", "after_script", "cache"];

    public static async Task<PipelineSpec> LoadAsync(Func<string, Task<string?>> readFile)
    {
        var main = await readFile(".gitlab-ci.yml") ?? throw new CiConfigException("Missing .gitlab-ci.yml file");
        var root = Parse(main, ".gitlab-ci.yml");
        var merged = new YamlMappingNode();
        foreach (var path in Includes(root))
        {
            var text = await readFile(path.TrimStart('/')) ?? throw new CiConfigException($"Local file `{path}` does not exist!");
            DeepMerge(merged, Parse(text, path));
        }
        // GitLab merges included files under the main one, hashes deeply (a job or `variables` can be extended).
        var own = new YamlMappingNode();
        foreach (var (k, v) in root) if (Key(k) != "include") own.Children[k] = v;
        DeepMerge(merged, own);

        var templates = new Dictionary<string, YamlMappingNode>
        {
            [ContainerBuildTemplate] = new(new YamlScalarNode("stage"), new YamlScalarNode("container"),
                new YamlScalarNode("sandbox_builtin"), new YamlScalarNode("fdo-container-build")),
        };
        templates[".fdo.container-build"] = templates[ContainerBuildTemplate];
        foreach (var (k, v) in merged)
            if (v is YamlMappingNode m && !Reserved.Contains(Key(k))) templates[Key(k)] = m;

        var stages = merged.Children.TryGetValue("stages", out var s) ? Strings(s, "stages") : ["build", "test", "deploy"];
        stages = [".pre", .. stages, ".post"];
        var globalVars = merged.Children.TryGetValue("variables", out var gv) ? Variables(gv, "variables") : new Dictionary<string, string>();
        var jobs = new List<JobSpec>();
        foreach (var (k, v) in merged)
        {
            var name = Key(k);
            if (Reserved.Contains(name) || name.StartsWith('.')) continue;
            if (v is not YamlMappingNode) throw new CiConfigException($"jobs:{name} config should be a hash");
            var job = Resolve(name, templates, []);
            jobs.Add(ToSpec(name, job, stages));
        }
        if (jobs.Count == 0) throw new CiConfigException("jobs config should contain at least one visible job");
        foreach (var job in jobs)
            foreach (var need in job.Needs ?? [])
                if (jobs.All(j => j.Name != need)) throw new CiConfigException($"jobs:{job.Name} needs job `{need}` which is not defined");
        return new PipelineSpec(stages, globalVars, jobs);
    }

    private static IEnumerable<string> Includes(YamlMappingNode root)
    {
        if (!root.Children.TryGetValue("include", out var inc)) yield break;
        var items = inc is YamlSequenceNode seq ? seq.Children : [inc];
        foreach (var item in items)
        {
            yield return item switch
            {
                YamlScalarNode scalar => scalar.Value!,
                YamlMappingNode m when m.Children.TryGetValue("local", out var l) => ((YamlScalarNode)l).Value!,
                _ => throw new CiConfigException("Included file must be `local:` in the sandbox"),
            };
        }
    }

    private static YamlMappingNode Resolve(string name, Dictionary<string, YamlMappingNode> templates, HashSet<string> seen)
    {
        if (!seen.Add(name)) throw new CiConfigException($"{name}: circular dependency detected in `extends`");
        var own = templates.TryGetValue(name, out var t) ? t : throw new CiConfigException($"{name}: unknown key in `extends`");
        var result = new YamlMappingNode();
        if (own.Children.TryGetValue("extends", out var ext))
            foreach (var parent in ext is YamlSequenceNode seq ? seq.Children.Select(c => ((YamlScalarNode)c).Value!) : [((YamlScalarNode)ext).Value!])
                DeepMerge(result, Resolve(parent, templates, [.. seen]));
        DeepMerge(result, own);
        result.Children.Remove(new YamlScalarNode("extends"));
        return result;
    }

    // GitLab's extends and includes: hashes merge deeply (a job or `variables` can be extended), everything else is replaced.
    internal static void DeepMerge(YamlMappingNode into, YamlMappingNode from)
    {
        foreach (var (k, v) in from)
        {
            if (v is YamlMappingNode vm && into.Children.TryGetValue(k, out var existing) && existing is YamlMappingNode em)
            {
                var copy = new YamlMappingNode();
                DeepMerge(copy, em);
                DeepMerge(copy, vm);
                into.Children[k] = copy;
            }
            else into.Children[k] = v;
        }
    }

    private static JobSpec ToSpec(string name, YamlMappingNode job, IReadOnlyList<string> stages)
    {
        string? Scalar(string key) => job.Children.TryGetValue(key, out var n) ? (n as YamlScalarNode)?.Value : null;
        var stage = Scalar("stage") ?? "test";
        if (!stages.Contains(stage)) throw new CiConfigException($"{name} job: chosen stage {stage} does not exist; available stages are {string.Join(", ", stages)}");
        var builtin = Scalar("sandbox_builtin");
        var script = new List<string>();
        if (job.Children.TryGetValue("before_script", out var before)) script.AddRange(Strings(before, $"{name}:before_script"));
        if (job.Children.TryGetValue("script", out var s)) script.AddRange(Strings(s, $"{name}:script"));
        else if (builtin is null) throw new CiConfigException($"jobs:{name} config should implement a script: or a trigger: keyword");
        var image = job.Children.TryGetValue("image", out var img)
            ? img switch { YamlScalarNode sc => sc.Value, YamlMappingNode m when m.Children.TryGetValue("name", out var n) => ((YamlScalarNode)n).Value, _ => null }
            : null;
        var when = Scalar("when") ?? "on_success";
        var allowFailure = Scalar("allow_failure") is { } af ? af == "true" : when == "manual";
        return new JobSpec(name, stage, script,
            job.Children.TryGetValue("variables", out var v) ? Variables(v, $"{name}:variables") : new Dictionary<string, string>(),
            job.Children.TryGetValue("needs", out var needs) ? Needs(needs, name) : null,
            image, when, allowFailure, builtin);
    }

    private static List<string> Needs(YamlNode node, string job) => node switch
    {
        YamlSequenceNode seq => [.. seq.Children.Select(c => c switch
        {
            YamlScalarNode s => s.Value!,
            YamlMappingNode m when m.Children.TryGetValue("job", out var j) => ((YamlScalarNode)j).Value!,
            _ => throw new CiConfigException($"jobs:{job}:needs config uses invalid types"),
        })],
        _ => throw new CiConfigException($"jobs:{job}:needs config should be an array"),
    };

    private static YamlMappingNode Parse(string text, string file)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m
                : throw new CiConfigException($"{file}: Invalid configuration format");
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new CiConfigException($"{file}: (<unknown>): {e.Message}");
        }
    }

    private static List<string> Strings(YamlNode node, string what) => node switch
    {
        YamlSequenceNode seq => [.. seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? throw new CiConfigException($"{what} config should be an array of strings"))],
        YamlScalarNode s => [s.Value!],
        _ => throw new CiConfigException($"{what} config should be an array of strings"),
    };

    private static Dictionary<string, string> Variables(YamlNode node, string what) => node is YamlMappingNode m
        ? m.Children.ToDictionary(kv => Key(kv.Key), kv => kv.Value switch
        {
            YamlScalarNode s => s.Value ?? "",
            YamlMappingNode vm when vm.Children.TryGetValue("value", out var val) => ((YamlScalarNode)val).Value ?? "",
            _ => throw new CiConfigException($"{what} config should be a hash of key value pairs"),
        })
        : throw new CiConfigException($"{what} config should be a hash of key value pairs");

    private static string Key(YamlNode node) => ((YamlScalarNode)node).Value!;
}
