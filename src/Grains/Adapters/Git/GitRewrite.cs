using Orchestrator.Domain.Trailers;

namespace Orchestrator.Adapters.Git;

/// <summary>A GitLab project as git reaches it: <c>&lt;base&gt;/&lt;path_with_namespace&gt;.git</c>.</summary>
public sealed record GitProject(long Id, string PathWithNamespace);

/// <summary>
/// Who commits, and when: recorded by the caller (e.g. the time of the event that decided the rebase), never read
/// from the clock, so a repeat writes byte-identical commits.
/// </summary>
public sealed record GitCommitter(string Name, string Email, DateTimeOffset When);

/// <summary>One rebase of a merge request's commits, with everything that decides its result.</summary>
/// <param name="Target">The MR's target project; its mirror holds everything.</param>
/// <param name="TargetBranch">The MR's target branch, whose head is the base unless <paramref name="OntoSha"/> says otherwise.</param>
/// <param name="SourceBranch">The MR's source branch, pushed to.</param>
/// <param name="Trailers">Added to every rewritten commit (existing ones kept, none duplicated).</param>
/// <param name="Committer">The committer of every rewritten commit, date included.</param>
/// <param name="Source">The MR's source project: the target itself, or the fork (pushed to through allow_collaboration).</param>
/// <param name="ExpectedSourceSha">The source head the caller saw: the commits replayed, and the lease of the push.</param>
/// <param name="OntoSha">The base recorded by the caller; null takes the target branch's head as fetched (the result says which).</param>
/// <param name="SkipCi">Push with <c>-o ci.skip</c>: the workflow starts its own pipeline.</param>
/// <param name="Upstream">Commits reachable from it are not the merge request's own (a merge train car's former speculative
/// base): left out, as <c>git rebase --onto &lt;onto&gt; &lt;upstream&gt;</c> does.</param>
public sealed record GitRewrite(
    GitProject Target, string TargetBranch, GitProject Source, string SourceBranch, string ExpectedSourceSha, string? OntoSha,
    IReadOnlyList<Trailer> Trailers, GitCommitter Committer, bool SkipCi, string? Upstream = null);

public abstract record GitRewriteResult
{
    /// <summary>The source branch's head when it is now our rewrite (pushed now or before), else null.</summary>
    public string? LandedHead => this switch { Pushed p => p.Head, AlreadyPushed a => a.Head, _ => null };

    public string? LandedOnto => this switch { Pushed p => p.Onto, AlreadyPushed a => a.Onto, _ => null };

    /// <summary>The source branch now points at <paramref name="Head"/>, our rewrite of the expected commits onto <paramref name="Onto"/>.</summary>
    public sealed record Pushed(string Head, string Onto, IReadOnlyList<string> Commits) : GitRewriteResult;

    /// <summary>The branch already was at the SHA this rewrite produces (a repeat after a crash): nothing pushed.</summary>
    public sealed record AlreadyPushed(string Head, string Onto, IReadOnlyList<string> Commits) : GitRewriteResult;

    /// <summary>
    /// Someone else moved the source branch (before our fetch, or between it and our push, where the lease refused it):
    /// marge-bot's "someone pushed". <paramref name="Actual"/> is null when the branch is gone.
    /// </summary>
    public sealed record SourceMoved(string Expected, string? Actual, string Message) : GitRewriteResult;

    /// <summary>
    /// What the rewrite would push (nothing was): <paramref name="Head"/> onto <paramref name="Onto"/>, and the
    /// <c>git patch-id --verbatim</c> of the merge request's diff before (<paramref name="OldBase"/>, the merge base of the
    /// expected head and the target, to the expected head) and after (<paramref name="Onto"/> to <paramref name="Head"/>);
    /// a patch id is null for an empty diff.
    /// </summary>
    public sealed record Previewed(string Head, string Onto, IReadOnlyList<string> Commits, string OldBase, string? OldPatchId, string? NewPatchId)
        : GitRewriteResult;

    /// <summary>A commit does not apply onto the base; nothing was pushed.</summary>
    public sealed record Conflict(string Commit, IReadOnlyList<string> Paths) : GitRewriteResult;

    /// <summary>GitLab refused the fetch or the push (permissions, protected branch, …): its own words.</summary>
    public sealed record Refused(string Message) : GitRewriteResult;
}

/// <summary>
/// A merge-commit project's car: <paramref name="OntoSha"/> (the target, or the car ahead's head) merged with the merge
/// request's head <paramref name="SourceSha"/>, committed by <paramref name="Committer"/> and pushed to
/// <paramref name="TrainBranch"/> of <paramref name="Target"/>.
/// </summary>
public sealed record GitTrainMerge(GitProject Target, GitProject Source, string SourceBranch, string SourceSha, string OntoSha, string TrainBranch,
    string Message, GitCommitter Committer);

/// <summary>The tree GitLab's merge would have (null: it conflicts), beside the tested commit's tree.</summary>
public sealed record GitMergePreview(string? MergedTree, string TestedTree);

/// <summary>What became of a branch moved or deleted with a lease.</summary>
public abstract record GitRefUpdate
{
    /// <summary>Moved now, from the expected head.</summary>
    public sealed record Done : GitRefUpdate;

    /// <summary>It already was where it should be (a repeat after a crash).</summary>
    public sealed record AlreadyThere : GitRefUpdate;

    /// <summary>Someone else's push holds it (<paramref name="Actual"/>): left as it is.</summary>
    public sealed record Moved(string Actual) : GitRefUpdate;

    /// <summary>GitLab refused the push: its words.</summary>
    public sealed record Refused(string Message) : GitRefUpdate;
}
