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

    /// <summary>
    /// A merge-commit project's car: <see cref="GitTrainMerge.OntoSha"/> merged with the merge request's head (as GitLab
    /// merges, <c>git merge-tree --write-tree</c>), pushed to the train branch in the target project with <c>-o ci.skip</c>
    /// and a lease on what the branch held. The same request makes the same commit, so a repeat answers
    /// <see cref="GitRewriteResult.AlreadyPushed"/>. The merge request's own branch is never written.
    /// </summary>
    Task<GitRewriteResult> MergeCarAsync(GitTrainMerge request, CancellationToken ct = default);

    /// <summary>The tree of the merge GitLab would make of <paramref name="sourceHead"/> into <paramref name="targetHead"/> (null: a conflict), and the tree of <paramref name="tested"/>.</summary>
    Task<GitMergePreview> PreviewMergeAsync(GitProject project, string targetHead, string sourceHead, string tested, CancellationToken ct = default);

    /// <summary>The tree of each commit, fetched by SHA where the mirror lacks it.</summary>
    Task<IReadOnlyList<string>> TreesAsync(GitProject project, IReadOnlyList<string> commits, CancellationToken ct = default);

    /// <summary>
    /// Moves <paramref name="branch"/> to <paramref name="to"/> (null deletes it), only from <paramref name="expected"/>: a
    /// push with a lease, so anyone else's push since is never overwritten (<see cref="GitRefUpdate.Moved"/>).
    /// </summary>
    Task<GitRefUpdate> ResetBranchAsync(GitProject project, string branch, string? to, string? expected, CancellationToken ct = default);
}
