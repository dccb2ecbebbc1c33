using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Domain.Policies;

/// <summary>Reading GitLab CI YAML: mappings (with YAML merge keys), variables, variable references, local includes.</summary>
public static partial class CiYaml
{
    /// <summary>Top-level keys GitLab reserves; every other top-level mapping is a job (hidden when it starts with '.').</summary>
    public static readonly IReadOnlySet<string> ReservedKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "stages", "variables", "include", "default", "workflow", "image", "services", "before_script", "after_script",
        "cache", "spec", "types",
    };

    /// <summary>The document's root mapping; null when the text is not a YAML mapping (empty, a list, or not YAML at all).</summary>
    public static YamlMappingNode? Root(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
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

    /// <summary>
    /// The mapping's entries by key, with YAML merge keys (<c>&lt;&lt;: *anchor</c>, common in CI files) applied first so
    /// the mapping's own keys win, as YAML 1.1 says.
    /// </summary>
    public static IReadOnlyDictionary<string, YamlNode> Entries(YamlMappingNode? mapping)
    {
        var entries = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        if (mapping is null) return entries;
        if (mapping.Children.TryGetValue(new YamlScalarNode("<<"), out var merged))
            foreach (var source in merged is YamlSequenceNode list ? list.Children : [merged])
                foreach (var (k, v) in Entries(source as YamlMappingNode)) entries[k] = v;
        foreach (var (k, v) in mapping.Children)
            if (k is YamlScalarNode { Value: { } key } && key != "<<") entries[key] = v;
        return entries;
    }

    public static string? Scalar(YamlNode? node) => (node as YamlScalarNode)?.Value;

    public static YamlNode? Get(YamlMappingNode? mapping, string key) => Entries(mapping).GetValueOrDefault(key);

    /// <summary>A <c>variables:</c> mapping as name → value; GitLab's long form <c>NAME: {value: …, description: …}</c> too.</summary>
    public static IReadOnlyDictionary<string, string> Variables(YamlNode? node)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in Entries(node as YamlMappingNode))
        {
            var text = value is YamlMappingNode longForm ? Scalar(Get(longForm, "value")) : Scalar(value);
            if (text is not null) variables[name] = text;
        }
        return variables;
    }

    /// <summary>The names a value refers to (<c>$NAME</c>, <c>${NAME}</c>), in order; <c>$$</c> is GitLab's escaped dollar.</summary>
    public static IReadOnlyList<string> References(string? value) =>
        value is null ? [] : [.. Reference().Matches(value.Replace("$$", "")).Select(m => m.Groups["name"].Value)];

    /// <summary>The value with each reference replaced by <paramref name="lookup"/>'s answer, unknown references left as written.</summary>
    public static string Expand(string value, Func<string, string?> lookup) =>
        Reference().Replace(value, m => lookup(m.Groups["name"].Value) ?? m.Value);

    /// <summary>
    /// The repository paths a file includes with <c>include: local:</c> (or the short string form), in order. Remote,
    /// project, template and component includes live outside this repository, and wildcard or variable paths cannot be
    /// read file by file, so they are left out.
    /// </summary>
    public static IReadOnlyList<string> LocalIncludes(YamlMappingNode? root)
    {
        var include = Get(root, "include");
        var items = include is YamlSequenceNode list ? list.Children : include is null ? [] : [include];
        var paths = new List<string>();
        foreach (var item in items)
        {
            var path = item is YamlMappingNode m ? Scalar(Get(m, "local")) : Scalar(item);
            if (string.IsNullOrWhiteSpace(path) || path.Contains("://") || path.Contains('*') || path.Contains('$')) continue;
            paths.Add(path.TrimStart('/'));
        }
        return paths;
    }

    [GeneratedRegex(@"\$(?:\{(?<name>[A-Za-z_][A-Za-z0-9_]*)\}|(?<name>[A-Za-z_][A-Za-z0-9_]*))")]
    private static partial Regex Reference();
}
