namespace Orchestrator.Adapters.Git;

/// <summary>
/// What merge trains need of git beyond a rebase: a merge-commit car's speculative merge on a train branch, the merge
/// GitLab would make, trees to compare, and branches put back or removed with a lease.
/// </summary>
public sealed partial class GitWorker
{
    public Task<GitRewriteResult> MergeCarAsync(GitTrainMerge r, CancellationToken ct = default)
    {
        ValidateSha(r.SourceSha);
        ValidateSha(r.OntoSha);
        return LockedAsync(r.Target.Id, mirror => MergeCarOnceAsync(r, mirror, ct), ct);
    }

    public Task<GitMergePreview> PreviewMergeAsync(GitProject project, string targetHead, string sourceHead, string tested, CancellationToken ct = default)
    {
        foreach (var sha in new[] { targetHead, sourceHead, tested }) ValidateSha(sha);
        return LockedAsync(project.Id, async mirror =>
        {
            await HaveAsync(mirror, project, [targetHead, sourceHead, tested], ct);
            return new GitMergePreview(await MergedTreeAsync(mirror, targetHead, sourceHead, ct), await TreeAsync(mirror, tested, ct));
        }, ct);
    }

    public Task<IReadOnlyList<string>> TreesAsync(GitProject project, IReadOnlyList<string> commits, CancellationToken ct = default)
    {
        foreach (var sha in commits) ValidateSha(sha);
        return LockedAsync<IReadOnlyList<string>>(project.Id, async mirror =>
        {
            await HaveAsync(mirror, project, commits, ct);
            var trees = new List<string>();
            foreach (var sha in commits) trees.Add(await TreeAsync(mirror, sha, ct));
            return trees;
        }, ct);
    }

    public Task<GitRefUpdate> ResetBranchAsync(GitProject project, string branch, string? to, string? expected, CancellationToken ct = default)
    {
        if (to is not null) ValidateSha(to);
        if (expected is not null) ValidateSha(expected);
        return LockedAsync<GitRefUpdate>(project.Id, async mirror =>
        {
            var url = Url(project);
            var destination = $"refs/heads/{branch}";
            var actual = await RemoteHeadAsync(mirror, url, destination, ct);
            if (actual == to) return new GitRefUpdate.AlreadyThere();
            // Only our own last push may be moved: anything else is someone's newer work.
            if (actual != expected) return new GitRefUpdate.Moved(actual ?? "(deleted)");
            if (to is not null && !await HasCommitAsync(mirror, to, ct)) await FetchShaAsync(mirror, to, [url], ct);
            var output = await git.RunAsync(mirror,
                ["push", "--porcelain", "--no-verify", $"--force-with-lease={destination}:{expected}", "--push-option=ci.skip", url,
                    to is null ? ":" + destination : $"{to}:{destination}"], authenticated: true, ct: ct);
            var report = PushReport.Parse(output, destination);
            // A deletion is reported with its own flag ('-'): git's exit status says it was made.
            if (report.Accepted || (to is null && output.ExitCode == 0)) return new GitRefUpdate.Done();
            var after = await RemoteHeadAsync(mirror, url, destination, ct);
            if (after == to) return new GitRefUpdate.AlreadyThere();
            if (after != expected) return new GitRefUpdate.Moved(after ?? "(deleted)");
            return new GitRefUpdate.Refused(report.RemoteMessage.Length > 0 ? report.RemoteMessage : report.Summary);
        }, ct);
    }

    private async Task<GitRewriteResult> MergeCarOnceAsync(GitTrainMerge r, string mirror, CancellationToken ct)
    {
        await EnsureMirrorAsync(mirror, ct);
        var targetUrl = Url(r.Target);
        var sourceRef = $"refs/orchestrator/source/{r.Source.Id}/heads/{r.SourceBranch}";
        if (await FetchAsync(mirror, Url(r.Source), ct, $"+refs/heads/{r.SourceBranch}:{sourceRef}") is { } refusal)
            return refusal.Contains($"refs/heads/{r.SourceBranch}", StringComparison.Ordinal)
                ? new GitRewriteResult.SourceMoved(r.SourceSha, null, $"the source branch {r.SourceBranch} is gone")
                : new GitRewriteResult.Refused(refusal);
        var head = await git.TextAsync(mirror, ct, "rev-parse", "--verify", sourceRef);
        if (head != r.SourceSha) return new GitRewriteResult.SourceMoved(r.SourceSha, head, $"{r.SourceBranch} is at {head}");
        await HaveAsync(mirror, r.Target, [r.OntoSha], ct);

        // The merge GitLab makes: the same merge-ort, the same parents (target first), so the tree is the one that will land.
        var tree = await git.RunAsync(mirror, ["merge-tree", "--write-tree", "--name-only", "--no-messages", r.OntoSha, r.SourceSha], ct: ct);
        var lines = tree.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (tree.ExitCode == 1) return new GitRewriteResult.Conflict(r.SourceSha, [.. lines.Skip(1).Distinct()]);
        if (tree.ExitCode != 0) throw new GitCommandException("merge-tree", tree.ExitCode, tree.Stderr);
        var commit = new RawCommit(lines[0], [r.OntoSha, r.SourceSha], RawCommit.Signature(r.Committer), null, r.Message);
        var written = await git.RunAsync(mirror, ["hash-object", "-t", "commit", "-w", "--stdin"], stdin: commit.Format(r.Committer), ct: ct);
        if (written.ExitCode != 0) throw new GitCommandException("hash-object", written.ExitCode, written.Stderr);
        var newHead = written.Text.Trim();

        var destination = $"refs/heads/{r.TrainBranch}";
        var current = await RemoteHeadAsync(mirror, targetUrl, destination, ct);
        if (current == newHead) return new GitRewriteResult.AlreadyPushed(newHead, r.OntoSha, [newHead]);
        // The train branch is the train's own: the lease is on what it held a moment ago (nothing, or an older car's head),
        // and ci.skip keeps GitLab from starting a pipeline of its own for the push: ours is created with its marker.
        var output = await git.RunAsync(mirror,
            ["push", "--porcelain", "--no-verify", $"--force-with-lease={destination}:{current ?? ""}", "--push-option=ci.skip", targetUrl,
                $"{newHead}:{destination}"], authenticated: true, ct: ct);
        var report = PushReport.Parse(output, destination);
        if (report.Accepted) return new GitRewriteResult.Pushed(newHead, r.OntoSha, [newHead]);
        if (await RemoteHeadAsync(mirror, targetUrl, destination, ct) == newHead) return new GitRewriteResult.AlreadyPushed(newHead, r.OntoSha, [newHead]);
        return new GitRewriteResult.Refused(report.RemoteMessage.Length > 0 ? report.RemoteMessage : $"push of {r.TrainBranch} refused");
    }

    /// <summary>The merge of <paramref name="theirs"/> into <paramref name="ours"/> as merge-ort makes it; null when it conflicts.</summary>
    private async Task<string?> MergedTreeAsync(string mirror, string ours, string theirs, CancellationToken ct)
    {
        var r = await git.RunAsync(mirror, ["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs], ct: ct);
        return r.ExitCode switch
        {
            0 => r.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0],
            1 => null,
            _ => throw new GitCommandException("merge-tree", r.ExitCode, r.Stderr),
        };
    }

    private Task<string> TreeAsync(string mirror, string commit, CancellationToken ct) => git.TextAsync(mirror, ct, "rev-parse", "--verify", commit + "^{tree}");

    /// <summary>Each commit in the mirror, fetched by SHA where missing (GitLab serves any SHA it holds).</summary>
    private async Task HaveAsync(string mirror, GitProject project, IEnumerable<string> commits, CancellationToken ct)
    {
        await EnsureMirrorAsync(mirror, ct);
        foreach (var sha in commits)
        {
            if (await HasCommitAsync(mirror, sha, ct)) continue;
            await FetchShaAsync(mirror, sha, [Url(project)], ct);
            if (!await HasCommitAsync(mirror, sha, ct)) throw new GitCommandException("fetch", 1, $"{sha} is not in {project.PathWithNamespace}");
        }
    }

    /// <summary>Where a branch is on GitLab now; null when it does not exist.</summary>
    private async Task<string?> RemoteHeadAsync(string mirror, string url, string destination, CancellationToken ct)
    {
        var listed = await git.RunAsync(mirror, ["ls-remote", url, destination], authenticated: true, ct: ct);
        if (listed.ExitCode != 0) throw new GitCommandException("ls-remote", listed.ExitCode, listed.Stderr);
        var sha = listed.Text.Split('\t', 2)[0].Trim();
        return sha.Length == 0 ? null : sha;
    }

    private async Task<T> LockedAsync<T>(long project, Func<string, Task<T>> work, CancellationToken ct)
    {
        var mirror = MirrorPath(project);
        var gate = Locks.GetOrAdd(mirror, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            await EnsureMirrorAsync(mirror, ct);
            return await work(mirror);
        }
        finally
        {
            gate.Release();
        }
    }
}
