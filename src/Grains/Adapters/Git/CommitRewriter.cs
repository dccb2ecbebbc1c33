using Orchestrator.Domain.Trailers;

namespace Orchestrator.Adapters.Git;

/// <summary>The outcome of replaying commits in the mirror: the new head, or the commit that does not apply.</summary>
internal sealed record Replay(string? Head, IReadOnlyList<string> Commits, string? ConflictCommit, IReadOnlyList<string> ConflictPaths);

/// <summary>
/// <c>git rebase</c> without a work tree: each commit's change is merged onto the new parent in memory
/// (<c>git merge-tree --write-tree</c>), so no file is ever checked out, no filter, hook or submodule runs. The commit
/// objects are written from the original's author, the caller's committer and the message with its trailers: a pure
/// function of (commits, base, trailers, committer), hence the same SHAs on every repeat.
/// As rebase does, merge commits are left out (the history is linearised) and a commit whose change is already in the
/// base is dropped.
/// </summary>
internal sealed class CommitRewriter(GitRunner git, string mirror)
{
    /// <summary>Who writes the throwaway commits that only steer merge-tree: fixed, so they too are the same every time.</summary>
    private static readonly GitCommitter Scaffold = new("orchestrator", "orchestrator@localhost", DateTimeOffset.UnixEpoch);

    public async Task<Replay> ReplayAsync(string onto, string head, IReadOnlyList<Trailer> trailers, GitCommitter committer, CancellationToken ct,
        string? upstream = null)
    {
        var list = await git.TextAsync(mirror, ct, ["rev-list", "--reverse", "--topo-order", "--no-merges", head, "^" + onto,
            .. upstream is null ? Array.Empty<string>() : ["^" + upstream]]);
        var parent = onto;
        var written = new List<string>();
        foreach (var sha in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var original = RawCommit.Parse((await git.RunAsync(mirror, ["cat-file", "commit", sha], ct: ct)).Stdout);
            var originalBase = original.Parents.Count > 0 ? original.Parents[0] : null;
            var tree = originalBase == parent ? new Merged(original.Tree, null) : await MergeAsync(originalBase, parent, original.Tree, ct);
            if (tree.Conflict is { } paths) return new Replay(null, written, sha, paths);
            var parentTree = await TreeOf(parent, ct);
            var wasEmpty = original.Tree == (originalBase is null ? GitEnvironment.EmptyTree : await TreeOf(originalBase, ct));
            if (tree.Tree == parentTree && !wasEmpty) continue;
            var rewritten = original with { Tree = tree.Tree!, Parents = [parent], Message = CommitTrailers.Add(original.Message, trailers) };
            parent = await WriteAsync(rewritten, committer, ct);
            written.Add(parent);
        }
        return new Replay(parent, written, null, []);
    }

    private sealed record Merged(string? Tree, IReadOnlyList<string>? Conflict);

    /// <summary>
    /// The three-way merge of cherry-pick (base: the commit's parent; ours: the new parent; theirs: the commit). git
    /// 2.39's merge-tree takes no explicit base, so two throwaway commits with the base as their only parent make it
    /// the merge base.
    /// </summary>
    private async Task<Merged> MergeAsync(string? originalBase, string parent, string theirTree, CancellationToken ct)
    {
        var baseCommit = originalBase ?? await WriteAsync(new RawCommit(GitEnvironment.EmptyTree, [], Signature, null, "base\n"), Scaffold, ct);
        var ours = await WriteAsync(new RawCommit(await TreeOf(parent, ct), [baseCommit], Signature, null, "ours\n"), Scaffold, ct);
        var theirs = await WriteAsync(new RawCommit(theirTree, [baseCommit], Signature, null, "theirs\n"), Scaffold, ct);
        var r = await git.RunAsync(mirror, ["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs], ct: ct);
        var lines = r.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return r.ExitCode switch
        {
            0 => new Merged(lines[0], null),
            1 => new Merged(null, [.. lines.Skip(1).Distinct()]),
            _ => throw new GitCommandException("merge-tree", r.ExitCode, r.Stderr),
        };
    }

    private static readonly string Signature = RawCommit.Signature(Scaffold);

    private Task<string> TreeOf(string commit, CancellationToken ct) => git.TextAsync(mirror, ct, "rev-parse", "--verify", commit + "^{tree}");

    private async Task<string> WriteAsync(RawCommit commit, GitCommitter committer, CancellationToken ct)
    {
        var r = await git.RunAsync(mirror, ["hash-object", "-t", "commit", "-w", "--stdin"], stdin: commit.Format(committer), ct: ct);
        if (r.ExitCode != 0) throw new GitCommandException("hash-object", r.ExitCode, r.Stderr);
        return r.Text.Trim();
    }
}
