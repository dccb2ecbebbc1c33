using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Domain.Policies;

/// <summary>Finds the jobs of a CI configuration that build container images with freedesktop's ci-templates.</summary>
public static partial class ImageBuildJobs
{
    /// <summary>
    /// The visible jobs that build an image, in the configuration's order. A job builds one when its <c>extends</c>
    /// chain (through hidden jobs, to any depth) reaches ci-templates' <c>.fdo.container-build@&lt;distro&gt;</c> (or an
    /// <c>@&lt;distro&gt;@&lt;arch&gt;</c> variant), or — for a merged YAML whose <c>extends</c> GitLab already inlined —
    /// when it sets <c>FDO_DISTRIBUTION_TAG</c> and runs ci-templates' build (its image is ci-templates' container-build
    /// image, or its script names ci-templates).
    /// </summary>
    public static IReadOnlyList<ImageBuildJob> Find(YamlMappingNode? config)
    {
        var entries = CiYaml.Entries(config);
        var globals = CiYaml.Variables(entries.GetValueOrDefault("variables"));
        var jobs = new List<ImageBuildJob>();
        foreach (var (name, node) in entries)
        {
            if (CiYaml.ReservedKeys.Contains(name) || name.StartsWith('.') || node is not YamlMappingNode) continue;
            var chain = Chain(name, entries);
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            // Parents first, so the job's own (and nearer templates') definitions win, as with GitLab's extends.
            foreach (var template in Enumerable.Reverse(chain))
                foreach (var (k, v) in CiYaml.Variables(CiYaml.Get(entries.GetValueOrDefault(template) as YamlMappingNode, "variables")))
                    variables[k] = v;
            var distribution = chain.Select(t => ContainerBuild().Match(t)).FirstOrDefault(m => m.Success)?.Groups["distro"].Value;
            if (distribution is not null || (variables.ContainsKey("FDO_DISTRIBUTION_TAG") && RunsCiTemplates(chain, entries)))
                jobs.Add(new ImageBuildJob(name, distribution, variables, globals));
        }
        return jobs;
    }

    /// <summary>The job and every template it extends, nearest first; a name not defined here (an included template) ends its branch.</summary>
    private static List<string> Chain(string job, IReadOnlyDictionary<string, YamlNode> entries)
    {
        var chain = new List<string>();
        void Visit(string name)
        {
            if (chain.Contains(name) || chain.Count > 100) return; // GitLab refuses cycles; here they only end the walk
            chain.Add(name);
            var extends = CiYaml.Get(entries.GetValueOrDefault(name) as YamlMappingNode, "extends");
            var parents = extends is YamlSequenceNode list ? list.Children.Select(CiYaml.Scalar) : [CiYaml.Scalar(extends)];
            // GitLab merges a list of extends left to right, the last winning: visit the last first so it is nearer.
            foreach (var parent in parents.Reverse()) if (parent is not null) Visit(parent);
        }
        Visit(job);
        return chain;
    }

    private static bool RunsCiTemplates(IReadOnlyList<string> chain, IReadOnlyDictionary<string, YamlNode> entries)
    {
        foreach (var name in chain)
        {
            var job = entries.GetValueOrDefault(name) as YamlMappingNode;
            var image = CiYaml.Get(job, "image");
            var imageName = image is YamlMappingNode m ? CiYaml.Scalar(CiYaml.Get(m, "name")) : CiYaml.Scalar(image);
            if (imageName?.Contains("ci-templates:container-build", StringComparison.Ordinal) == true) return true;
            var script = CiYaml.Get(job, "script");
            var lines = script is YamlSequenceNode list ? list.Children.Select(CiYaml.Scalar) : [CiYaml.Scalar(script)];
            if (lines.Any(l => l?.Contains("ci-templates", StringComparison.Ordinal) == true)) return true;
        }
        return false;
    }

    [GeneratedRegex(@"^\.fdo\.container-build@(?<distro>[a-z0-9]+)(?:@[A-Za-z0-9_]+)?$")]
    private static partial Regex ContainerBuild();
}
