namespace Orchestrator.Domain.Policies;

/// <summary>Where a project defines its top-level CI variables: <c>.gitlab-ci.yml</c> and the local files it includes.</summary>
public sealed class TagDefinitions
{
    public const string MainFile = ".gitlab-ci.yml";
    // GitLab stops at 150 includes; past that the configuration is invalid anyway.
    private const int MaxFiles = 150;

    private readonly List<(string Path, IReadOnlyDictionary<string, string> Variables)> files;

    private TagDefinitions(List<(string, IReadOnlyDictionary<string, string>)> files) => this.files = files;

    /// <summary>
    /// Reads <c>.gitlab-ci.yml</c> and, recursively, its local includes, in GitLab's merge order: a file's includes
    /// first, then the file itself, which overrides them. A file that cannot be read or parsed defines nothing.
    /// </summary>
    public static async Task<TagDefinitions> ReadAsync(Func<string, CancellationToken, Task<string?>> readFile, CancellationToken ct = default)
    {
        var ordered = new List<(string, IReadOnlyDictionary<string, string>)>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        async Task Visit(string path)
        {
            if (visited.Count >= MaxFiles || !visited.Add(path)) return;
            var root = CiYaml.Root(await readFile(path, ct));
            foreach (var include in CiYaml.LocalIncludes(root)) await Visit(include);
            ordered.Add((path, CiYaml.Variables(CiYaml.Get(root, "variables"))));
        }
        await Visit(MainFile);
        return new TagDefinitions(ordered);
    }

    /// <summary>The file whose top-level definition of the variable wins (the last in merge order), null when none defines it.</summary>
    public string? FileDefining(string variable) =>
        files.LastOrDefault(f => f.Variables.ContainsKey(variable)).Path;
}
