namespace Orchestrator.Adapters.Git;

/// <summary>What <c>git push --porcelain</c> said about the one ref pushed, and GitLab's own words (<c>remote:</c> lines).</summary>
internal sealed record PushReport(bool Accepted, string Summary, string RemoteMessage)
{
    /// <summary>Porcelain flags of a ref that moved or already was there: fast-forward, forced, created, up to date.</summary>
    private const string AcceptedFlags = " +*=";

    public static PushReport Parse(GitOutput output, string destination)
    {
        var line = output.Text.Split('\n').FirstOrDefault(l => l.Length > 2 && l[1] == '\t' && l.Split('\t') is [_, var refs, ..] && refs.EndsWith(":" + destination, StringComparison.Ordinal));
        var accepted = output.ExitCode == 0 && line is not null && AcceptedFlags.Contains(line[0]);
        return new PushReport(accepted, line?.Split('\t').ElementAtOrDefault(2)?.Trim() ?? "", RemoteLines(output.Stderr));
    }

    /// <summary>The server's lines (<c>remote: GitLab: You are not allowed …</c>) without git's prefixes; git's own error otherwise.</summary>
    public static string RemoteLines(string stderr)
    {
        var lines = stderr.Split('\n').Select(l => l.TrimEnd('\r').Trim()).ToList();
        var remote = lines.Where(l => l.StartsWith("remote:", StringComparison.Ordinal)).Select(l => l["remote:".Length..].Trim())
            .Select(l => l.StartsWith("GitLab:", StringComparison.Ordinal) ? l["GitLab:".Length..].Trim() : l)
            .Where(l => l.Length > 0).ToList();
        if (remote.Count > 0) return string.Join('\n', remote.Distinct());
        return string.Join('\n', lines.Where(l => l.StartsWith("fatal:", StringComparison.Ordinal) || l.StartsWith("error:", StringComparison.Ordinal)));
    }
}
