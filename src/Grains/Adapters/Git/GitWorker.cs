using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Adapters.Git;

/// <summary>Where the worker works and as whom.</summary>
public sealed record GitWorkerSettings(Uri GitLab, string Token, string MirrorRoot, string Executable, TimeSpan CommandTimeout);

/// <summary>
/// <see cref="IGitWorker"/> on the git binary (not LibGit2Sharp: libgit2 has no in-memory three-way merge as
/// faithful as merge-ort, its native binaries must match the host, and the git binary is what GitLab itself runs).
/// One bare mirror per target project under <see cref="GitWorkerSettings.MirrorRoot"/>, fetched into refs of its own;
/// the fork's branch is fetched into the same mirror, so its objects are shared.
/// </summary>
public sealed partial class GitWorker(GitWorkerSettings settings, ILogger<GitWorker> logger) : IGitWorker
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new();
    private readonly GitRunner git = new(settings.Executable, Path.Combine(settings.MirrorRoot, ".home"), settings.GitLab, settings.Token,
        settings.CommandTimeout);

    /// <summary>For tests: runs after the fetch and before anything is rewritten or pushed (an author's push, a deleted mirror).</summary>
    internal Func<Task>? AfterFetch { get; set; }

    /// <summary>The bare repository this worker keeps for a target project.</summary>
    public string MirrorPath(long project) => Path.Combine(settings.MirrorRoot, project.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".git");

    public Task<GitRewriteResult> RewriteAsync(GitRewrite request, CancellationToken ct = default) => InMirrorAsync(request, push: true, ct);

    public Task<GitRewriteResult> PreviewAsync(GitRewrite request, CancellationToken ct = default) => InMirrorAsync(request, push: false, ct);

    private async Task<GitRewriteResult> InMirrorAsync(GitRewrite request, bool push, CancellationToken ct)
    {
        ValidateSha(request.ExpectedSourceSha);
        if (request.OntoSha is not null) ValidateSha(request.OntoSha);
        if (request.Upstream is not null) ValidateSha(request.Upstream);
        var mirror = MirrorPath(request.Target.Id);
        var gate = Locks.GetOrAdd(mirror, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            try
            {
                return await RewriteOnceAsync(request, mirror, push, ct);
            }
            catch (GitCommandException e) when (!IsHealthy(mirror))
            {
                // The mirror vanished or broke under us (someone cleaned the folder): it is only a cache, start again.
                logger.LogWarning("Git mirror {Mirror} was lost during {Command}; rebuilding it", mirror, e.Command);
                Remove(mirror);
                return await RewriteOnceAsync(request, mirror, push, ct);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<GitRewriteResult> RewriteOnceAsync(GitRewrite r, string mirror, bool push, CancellationToken ct)
    {
        await EnsureMirrorAsync(mirror, ct);
        var targetUrl = Url(r.Target);
        var sourceUrl = Url(r.Source);
        var targetRef = $"refs/orchestrator/target/heads/{r.TargetBranch}";
        var sourceRef = $"refs/orchestrator/source/{r.Source.Id}/heads/{r.SourceBranch}";
        var sameProject = r.Source.Id == r.Target.Id;

        string[] targetSpecs = sameProject
            ? [$"+refs/heads/{r.TargetBranch}:{targetRef}", $"+refs/heads/{r.SourceBranch}:{sourceRef}"]
            : [$"+refs/heads/{r.TargetBranch}:{targetRef}"];
        var fetched = await FetchAsync(mirror, targetUrl, ct, targetSpecs);
        if (fetched is null && !sameProject) fetched = await FetchAsync(mirror, sourceUrl, ct, $"+refs/heads/{r.SourceBranch}:{sourceRef}");
        if (fetched is { } refusal)
            return refusal.Contains($"refs/heads/{r.SourceBranch}", StringComparison.Ordinal)
                ? new GitRewriteResult.SourceMoved(r.ExpectedSourceSha, null, $"the source branch {r.SourceBranch} is gone")
                : new GitRewriteResult.Refused(refusal);
        if (AfterFetch is { } seam) await seam();

        var head = await git.TextAsync(mirror, ct, "rev-parse", "--verify", sourceRef);
        var onto = r.OntoSha ?? await git.TextAsync(mirror, ct, "rev-parse", "--verify", targetRef);
        // After a crash our own push replaced the expected commits on the branch; GitLab still serves them by SHA.
        if (!await HasCommitAsync(mirror, r.ExpectedSourceSha, ct)) await FetchShaAsync(mirror, r.ExpectedSourceSha, [targetUrl, sourceUrl], ct);
        if (!await HasCommitAsync(mirror, onto, ct)) await FetchShaAsync(mirror, onto, [targetUrl], ct);
        if (r.Upstream is { } upstream && !await HasCommitAsync(mirror, upstream, ct)) await FetchShaAsync(mirror, upstream, [targetUrl, sourceUrl], ct);
        if (!await HasCommitAsync(mirror, r.ExpectedSourceSha, ct) || !await HasCommitAsync(mirror, onto, ct))
            return head == r.ExpectedSourceSha
                ? throw new GitCommandException("fetch", 1, $"{onto} is not in {r.Target.PathWithNamespace}")
                : new GitRewriteResult.SourceMoved(r.ExpectedSourceSha, head, "the source branch moved and its former head is unknown to GitLab");

        var replay = await new CommitRewriter(git, mirror).ReplayAsync(onto, r.ExpectedSourceSha, r.Trailers, r.Committer, ct, r.Upstream);
        if (!push && replay.Head is { } previewed && (head == previewed || head == r.ExpectedSourceSha))
            return await PreviewedAsync(mirror, r.ExpectedSourceSha, onto, previewed, replay.Commits, ct);
        if (replay.Head is { } ours && head == ours) return new GitRewriteResult.AlreadyPushed(ours, onto, replay.Commits);
        if (head != r.ExpectedSourceSha) return new GitRewriteResult.SourceMoved(r.ExpectedSourceSha, head, $"{r.SourceBranch} is at {head}");
        if (replay.Head is null) return new GitRewriteResult.Conflict(replay.ConflictCommit!, replay.ConflictPaths);
        return await PushAsync(mirror, r, sourceUrl, replay.Head, onto, replay.Commits, ct);
    }

    /// <summary>The merge request's changes before and after the rewrite, each as one patch id (see <see cref="GitRewriteResult.Previewed"/>).</summary>
    private async Task<GitRewriteResult> PreviewedAsync(string mirror, string expected, string onto, string head, IReadOnlyList<string> commits,
        CancellationToken ct)
    {
        var oldBase = await git.TextAsync(mirror, ct, "merge-base", onto, expected);
        return new GitRewriteResult.Previewed(head, onto, commits, oldBase, await PatchIdAsync(mirror, oldBase, expected, ct),
            await PatchIdAsync(mirror, onto, head, ct));
    }

    /// <summary>
    /// <c>git diff | git patch-id --verbatim</c>: line numbers do not count (a rebase moves hunks), whitespace does (it is
    /// code in some languages), binary contents in full; no external diff or text conversion can run. Null for no diff.
    /// </summary>
    private async Task<string?> PatchIdAsync(string mirror, string from, string to, CancellationToken ct)
    {
        var diff = await git.RunAsync(mirror, ["diff", "--binary", "--full-index", "--no-ext-diff", "--no-textconv", "--no-renames", "--no-color", from, to], ct: ct);
        if (diff.ExitCode != 0) throw new GitCommandException("diff", diff.ExitCode, diff.Stderr);
        if (diff.Stdout.Length == 0) return null;
        var id = await git.RunAsync(mirror, ["patch-id", "--verbatim"], stdin: diff.Stdout, ct: ct);
        if (id.ExitCode != 0) throw new GitCommandException("patch-id", id.ExitCode, id.Stderr);
        return id.Text.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) is [var first, ..] ? first.Trim() : null;
    }

    /// <summary>
    /// Pushes with <c>--force-with-lease=refs/heads/&lt;branch&gt;:&lt;expected&gt;</c>: git sends the expected SHA as the
    /// ref's old value, so receive-pack itself refuses the update when the branch moved meanwhile, however late.
    /// Any refusal is then told apart by where the branch really is.
    /// </summary>
    private async Task<GitRewriteResult> PushAsync(string mirror, GitRewrite r, string sourceUrl, string newHead, string onto,
        IReadOnlyList<string> commits, CancellationToken ct)
    {
        var destination = $"refs/heads/{r.SourceBranch}";
        var output = await git.RunAsync(mirror,
        [
            "push", "--porcelain", "--no-verify", $"--force-with-lease={destination}:{r.ExpectedSourceSha}",
            .. r.SkipCi ? ["--push-option=ci.skip"] : Array.Empty<string>(), sourceUrl, $"{newHead}:{destination}",
        ], authenticated: true, ct: ct);
        var report = PushReport.Parse(output, destination);
        if (report.Accepted) return new GitRewriteResult.Pushed(newHead, onto, commits);

        var listed = await git.RunAsync(mirror, ["ls-remote", "--heads", sourceUrl, destination], authenticated: true, ct: ct);
        var actual = listed.ExitCode == 0 ? listed.Text.Split('\t', 2)[0].Trim() : null;
        var message = report.RemoteMessage.Length > 0 ? report.RemoteMessage : report.Summary;
        if (listed.ExitCode == 0 && actual == newHead) return new GitRewriteResult.AlreadyPushed(newHead, onto, commits);
        if (listed.ExitCode == 0 && actual != r.ExpectedSourceSha)
            return new GitRewriteResult.SourceMoved(r.ExpectedSourceSha, actual is "" ? null : actual, message);
        return new GitRewriteResult.Refused(message.Length > 0 ? message : $"push of {r.SourceBranch} refused");
    }

    /// <summary>Null when fetched; GitLab's words when it refused (the caller decides what a missing ref means).</summary>
    private async Task<string?> FetchAsync(string mirror, string url, CancellationToken ct, params string[] refspecs)
    {
        var r = await git.RunAsync(mirror, ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head", url, .. refspecs],
            authenticated: true, ct: ct);
        if (r.ExitCode == 0) return null;
        if (r.Stderr.Contains("couldn't find remote ref", StringComparison.Ordinal) || r.Stderr.Contains("remote:", StringComparison.Ordinal))
            return PushReport.RemoteLines(r.Stderr) is { Length: > 0 } m ? m : r.Stderr.Trim();
        throw new GitCommandException("fetch", r.ExitCode, r.Stderr);
    }

    private async Task FetchShaAsync(string mirror, string sha, IEnumerable<string> urls, CancellationToken ct)
    {
        foreach (var url in urls)
        {
            var r = await git.RunAsync(mirror, ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head", url, sha],
                authenticated: true, ct: ct);
            if (r.ExitCode == 0) return;
        }
    }

    private async Task<bool> HasCommitAsync(string mirror, string sha, CancellationToken ct) =>
        (await git.RunAsync(mirror, ["cat-file", "-e", sha + "^{commit}"], ct: ct)).ExitCode == 0;

    /// <summary>A bare repository from no template (so no sample hooks), holding only what the worker fetches.</summary>
    private async Task EnsureMirrorAsync(string mirror, CancellationToken ct)
    {
        if (IsHealthy(mirror) && (await git.RunAsync(mirror, ["rev-parse", "--git-dir"], ct: ct)).ExitCode == 0) return;
        Remove(mirror);
        Directory.CreateDirectory(settings.MirrorRoot);
        var r = await git.RunAsync(null, ["init", "--quiet", "--bare", "--template=", mirror], ct: ct);
        if (r.ExitCode != 0) throw new GitCommandException("init", r.ExitCode, r.Stderr);
    }

    /// <summary>The files a bare repository cannot do without; git itself is asked before each use.</summary>
    private static bool IsHealthy(string mirror) =>
        File.Exists(Path.Combine(mirror, "HEAD")) && Directory.Exists(Path.Combine(mirror, "objects")) && Directory.Exists(Path.Combine(mirror, "refs"));

    private static void Remove(string mirror)
    {
        if (Directory.Exists(mirror)) Directory.Delete(mirror, recursive: true);
    }

    /// <summary>No credentials in it: the token goes as a header (<see cref="GitEnvironment"/>).</summary>
    private string Url(GitProject project) => settings.GitLab.ToString().TrimEnd('/') + "/" + project.PathWithNamespace + ".git";

    private static void ValidateSha(string sha)
    {
        if (sha.Length != 40 || !sha.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException($"'{sha}' is not a full lower-case SHA-1", nameof(sha));
    }
}
