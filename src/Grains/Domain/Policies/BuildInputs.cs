namespace Orchestrator.Domain.Policies;

/// <summary>The repository files an image's build reads, as path globs for the policy's <c>inputs</c>.</summary>
public static class BuildInputs
{
    private static readonly string[] Interpreters = ["bash", "sh", "python3", "python", "sudo", "env", "exec"];

    /// <summary>
    /// A heuristic, stated because it can miss: ci-templates runs <c>FDO_DISTRIBUTION_EXEC</c> in a checkout of the
    /// project, and the build reads that script and what sits beside it (helpers it sources, package lists). So each
    /// repository path in the command line gives its folder, as <c>folder/**</c>; when that folder is named after the
    /// distribution or the image's first segment (Mesa's <c>.gitlab-ci/container/debian/x86_64_build.sh</c>), its
    /// parent, whose shared helpers the per-distribution scripts source. A script at the repository's root gives
    /// itself. Packages listed in the YAML (<c>FDO_DISTRIBUTION_PACKAGES</c>) are not files and are not covered.
    /// </summary>
    public static IReadOnlyList<string> Globs(string? exec, string? distribution, string imageName)
    {
        if (string.IsNullOrWhiteSpace(exec)) return [];
        var family = imageName.Split('/')[0];
        var globs = new List<string>();
        foreach (var raw in exec.Split([' ', '\t', '\n', ';', '&', '|'], StringSplitOptions.RemoveEmptyEntries))
        {
            var token = raw.Trim('\'', '"');
            if (!LooksLikeRepositoryPath(token)) continue;
            var path = token.StartsWith("./", StringComparison.Ordinal) ? token[2..] : token;
            var slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                if (!globs.Contains(path)) globs.Add(path);
                continue;
            }
            var folder = path[..slash];
            var last = folder[(folder.LastIndexOf('/') + 1)..];
            if ((last == distribution || last == family) && folder.Contains('/')) folder = folder[..folder.LastIndexOf('/')];
            var glob = folder + "/**";
            if (!globs.Contains(glob)) globs.Add(glob);
        }
        // A word built from ${VAR} or a shell pattern is no repository path a glob of ours can name.
        return [.. globs.Where(g => Freshness.GlobProblem(g) is null)];
    }

    // Absolute paths are the image's own, $-words are expanded at run time, options are not files; a bare word is a
    // file only when it looks like a script.
    private static bool LooksLikeRepositoryPath(string token) =>
        token.Length > 0 && !Interpreters.Contains(token) && token[0] is not ('/' or '$' or '-' or '~') && !token.Contains("://") &&
        !token.Contains('=') && (token.Contains('/') || token.EndsWith(".sh", StringComparison.Ordinal) || token.EndsWith(".py", StringComparison.Ordinal));
}
