namespace Orchestrator.Adapters.Git;

/// <summary>
/// The orchestrator's own git, for what GitLab's API cannot do: rebase a merge request's commits onto its target
/// with rewritten messages (trailers) and push them back to the source branch, never over someone else's push.
/// I/O only: which trailers, which base and which committer time are the caller's decisions.
/// </summary>
public interface IGitWorker
{
    /// <summary>
    /// Fetches the target and source branches into the target project's mirror, replays the source's commits since
    /// <see cref="GitRewrite.OntoSha"/> (or the target's head) with the trailers added, and pushes the result with a
    /// lease on <see cref="GitRewrite.ExpectedSourceSha"/>. The same request gives the same SHAs every time, so a
    /// repeat after a crash answers <see cref="GitRewriteResult.AlreadyPushed"/> instead of pushing again.
    /// </summary>
    Task<GitRewriteResult> RewriteAsync(GitRewrite request, CancellationToken ct = default);

    /// <summary>
    /// The same fetch and replay as <see cref="RewriteAsync"/>, nothing pushed: <see cref="GitRewriteResult.Previewed"/>
    /// with the head the rewrite would push and the patch ids of the merge request's changes before and after, or why it
    /// cannot be made (a conflict, someone's push, GitLab's refusal).
    /// </summary>
    Task<GitRewriteResult> PreviewAsync(GitRewrite request, CancellationToken ct = default);
}
