using System.Globalization;

namespace Sandbox.Git;

public sealed record CommitInfo(
    string Id, IReadOnlyList<string> ParentIds, string AuthorName, string AuthorEmail, DateTimeOffset AuthoredDate,
    string CommitterName, string CommitterEmail, DateTimeOffset CommittedDate, string Message)
{
    public string Title => Message.Split('\n', 2)[0];
}

public sealed record FileChange(string OldPath, string NewPath, string? AMode, string? BMode, bool NewFile, bool RenamedFile, bool DeletedFile, string Diff);

/// <summary>One bare repository on disk.</summary>
public sealed class Repository(string path)
{
    public string Path { get; } = path;

    public static async Task<Repository> InitAsync(string path, string defaultBranch)
    {
        Directory.CreateDirectory(path);
        await GitCli.RunAsync(null, "init", "-q", "--bare", $"--initial-branch={defaultBranch}", path);
        return new Repository(path);
    }

    public static async Task<Repository> CloneBareAsync(string from, string path)
    {
        await GitCli.RunAsync(null, "clone", "-q", "--bare", "--no-local", from, path);
        return new Repository(path);
    }

    public async Task<string?> ResolveAsync(string refOrSha)
    {
        if (string.IsNullOrEmpty(refOrSha) || refOrSha.StartsWith('-')) return null;
        foreach (var candidate in new[] { $"refs/heads/{refOrSha}", $"refs/tags/{refOrSha}", refOrSha })
        {
            var r = await GitCli.TryRunAsync(Path, ["rev-parse", "--verify", "--quiet", $"{candidate}^{{commit}}"]);
            if (r.ExitCode == 0) return r.Stdout.Trim();
        }
        return null;
    }

    public async Task<string?> BranchHeadAsync(string branch)
    {
        var r = await GitCli.TryRunAsync(Path, ["rev-parse", "--verify", "--quiet", $"refs/heads/{branch}"]);
        return r.ExitCode == 0 ? r.Stdout.Trim() : null;
    }

    public async Task<IReadOnlyList<(string Name, string Sha)>> BranchesAsync()
    {
        var output = await GitCli.RunAsync(Path, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Select(p => (p[0], p[1]))];
    }

    /// <summary>Moves a ref only if it still points where the caller saw it (null: must not exist).</summary>
    public async Task<bool> UpdateRefAsync(string refName, string newSha, string? expectedOld)
    {
        var r = await GitCli.TryRunAsync(Path, ["update-ref", refName, newSha, expectedOld ?? GitRef.Blank]);
        return r.ExitCode == 0;
    }

    public async Task<bool> DeleteRefAsync(string refName, string expectedOld) =>
        (await GitCli.TryRunAsync(Path, ["update-ref", "-d", refName, expectedOld])).ExitCode == 0;

    public async Task<bool> IsAncestorAsync(string ancestor, string descendant) =>
        (await GitCli.TryRunAsync(Path, ["merge-base", "--is-ancestor", ancestor, descendant])).ExitCode == 0;

    public async Task<string?> MergeBaseAsync(string a, string b)
    {
        var r = await GitCli.TryRunAsync(Path, ["merge-base", a, b]);
        return r.ExitCode == 0 ? r.Stdout.Trim() : null;
    }

    public async Task<CommitInfo> CommitAsync(string sha)
    {
        var output = await GitCli.RunAsync(Path, "show", "-s", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha);
        var f = output.Split('\0');
        return new CommitInfo(f[0], f[1].Split(' ', StringSplitOptions.RemoveEmptyEntries), f[2], f[3], Date(f[4]), f[5], f[6], Date(f[7]),
            f[8].TrimEnd('\n') + "\n");
    }

    public async Task<IReadOnlyList<CommitInfo>> LogAsync(string range, int max = 1000)
    {
        var output = await GitCli.RunAsync(Path, "log", $"--max-count={max}", "--format=%H", range);
        var list = new List<CommitInfo>();
        foreach (var sha in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            list.Add(await CommitAsync(sha));
        return list;
    }

    public async Task<byte[]?> ReadFileAsync(string sha, string filePath)
    {
        var type = await GitCli.TryRunAsync(Path, ["cat-file", "-t", $"{sha}:{filePath}"]);
        if (type.ExitCode != 0 || type.Stdout.Trim() != "blob") return null;
        var psi = new System.Diagnostics.ProcessStartInfo("git", ["cat-file", "blob", $"{sha}:{filePath}"])
        {
            WorkingDirectory = Path, RedirectStandardOutput = true, UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(psi)!;
        using var buffer = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(buffer);
        await process.WaitForExitAsync();
        return buffer.ToArray();
    }

    public async Task<IReadOnlyList<FileChange>> DiffAsync(string from, string to)
    {
        var raw = await GitCli.RunAsync(Path, "diff", "--raw", "-M", "--no-abbrev", "-z", from, to);
        var parts = raw.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var changes = new List<FileChange>();
        for (var i = 0; i < parts.Length;)
        {
            var meta = parts[i++].TrimStart(':').Split(' ');
            var status = meta[4];
            var oldPath = parts[i++];
            var newPath = status.StartsWith('R') || status.StartsWith('C') ? parts[i++] : oldPath;
            var patch = await GitCli.RunAsync(Path, "diff", "-M", from, to, "--", oldPath, newPath);
            var hunk = patch.IndexOf("\n@@", StringComparison.Ordinal);
            changes.Add(new FileChange(oldPath, newPath,
                meta[0] == "000000" ? null : meta[0], meta[1] == "000000" ? null : meta[1],
                status == "A", status.StartsWith('R'), status == "D", hunk < 0 ? "" : patch[(hunk + 1)..]));
        }
        return changes;
    }

    /// <summary>The tree a commit records, or null when there is no such commit.</summary>
    public async Task<string?> TreeOfAsync(string commit)
    {
        var r = await GitCli.TryRunAsync(Path, ["rev-parse", "--verify", "--quiet", commit + "^{tree}"]);
        return r.ExitCode == 0 ? r.Stdout.Trim() : null;
    }

    /// <summary>A merge of two commits without touching any ref: the tree, or null when they conflict.</summary>
    public async Task<string?> MergeTreeAsync(string ours, string theirs)
    {
        var r = await GitCli.TryRunAsync(Path, ["merge-tree", "--write-tree", "--no-messages", ours, theirs]);
        return r.ExitCode == 0 ? r.Stdout.Split('\n')[0].Trim() : null;
    }

    /// <param name="author">Who wrote it, when that is not who commits it (a squash keeps the MR's author).</param>
    public async Task<string> CommitTreeAsync(string tree, IReadOnlyList<string> parents, string message, GitCli.Identity who, DateTimeOffset at,
        GitCli.Identity? author = null)
    {
        var args = new List<string> { "commit-tree", tree };
        foreach (var p in parents) { args.Add("-p"); args.Add(p); }
        var env = author is null ? null : new Dictionary<string, string> { ["GIT_AUTHOR_NAME"] = author.Name, ["GIT_AUTHOR_EMAIL"] = author.Email };
        var r = await GitCli.TryRunAsync(Path, args, stdin: message, identity: who, date: at, env: env);
        if (r.ExitCode != 0) throw new GitException($"commit-tree failed: {r.Stderr}", r.ExitCode, r.Stderr);
        return r.Stdout.Trim();
    }

    /// <summary>Copies a branch of another repository into this one under <paramref name="localRef"/>.</summary>
    public Task FetchAsync(string fromRepo, string remoteRef, string localRef) =>
        GitCli.RunAsync(Path, "fetch", "-q", "--no-tags", fromRepo, $"+{remoteRef}:{localRef}");

    private static DateTimeOffset Date(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);
}
