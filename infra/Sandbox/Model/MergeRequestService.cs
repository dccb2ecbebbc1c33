using System.Collections.Concurrent;
using Sandbox.Git;
using Sandbox.Http;

namespace Sandbox.Model;

/// <summary>Mergeability, rebase and merge on real git, with GitLab's order of checks and its asynchrony.</summary>
public sealed class MergeRequestService(SandboxStore store, ILogger<MergeRequestService> logger)
{
    public async Task<Mergeability> EvaluateAsync(MergeRequest mr)
    {
        var source = store.ProjectById(mr.SourceProjectId);
        var target = store.ProjectById(mr.TargetProjectId);
        var targetRepo = store.Repo(target);
        var sha = mr.State == "merged" ? mr.MergedSha : await store.Repo(source).BranchHeadAsync(mr.SourceBranch);
        var targetHead = await targetRepo.BranchHeadAsync(mr.TargetBranch);
        var discussionsResolved = !target.OnlyAllowMergeIfAllDiscussionsAreResolved
            || mr.Discussions.All(d => d.Notes.Where(n => n.Resolvable).All(n => n.Resolved));
        var approvalsLeft = Math.Max(0, target.ApprovalsRequired - mr.ApprovedBy.Count);
        if (sha is null || targetHead is null)
            return new("cannot_be_merged", mr.State == "opened" ? "broken_status" : "not_open", false, discussionsResolved, approvalsLeft,
                sha, null, targetHead, null);

        if (mr.State != "merged")
            await SyncHeadRefAsync(mr, source, target, sha);
        var (baseSha, upToDate, conflicts, changes) = await CompareAsync(target, targetHead, sha);
        var needRebase = target.MergeMethod is "ff" or "rebase_merge" && !upToDate;
        var checking = mr.RebaseInProgress || store.Now < mr.CheckingUntil;

        var detailed =
            mr.State != "opened" ? "not_open"
            : mr.IsDraft ? "draft_status"
            : checking ? "checking"
            : conflicts ? "conflict"
            : needRebase ? "need_rebase"
            : !discussionsResolved ? "discussions_not_resolved"
            : approvalsLeft > 0 ? "not_approved"
            : "mergeable";
        var status = checking && mr.State == "opened" ? "checking" : conflicts ? "cannot_be_merged" : "can_be_merged";
        return new(status, detailed, conflicts, discussionsResolved, approvalsLeft, sha, baseSha, targetHead, changes);
    }

    /// <summary>What git says of a source head against a target head: commits never change, so neither does this.</summary>
    private sealed record Comparison(string? BaseSha, bool UpToDate, bool Conflicts, int Changes);

    // By (target project, target head, source head). Every read of an MR asks, and most ask again of the same two
    // commits; GitLab too keeps its mergeability in the database instead of asking git each time.
    private readonly ConcurrentDictionary<(long Project, string TargetHead, string Sha), Comparison> comparisons = new();

    private async Task<Comparison> CompareAsync(Project target, string targetHead, string sha)
    {
        if (comparisons.TryGetValue((target.Id, targetHead, sha), out var known)) return known;
        var repo = store.Repo(target);
        var baseSha = await repo.MergeBaseAsync(targetHead, sha);
        var upToDate = await repo.IsAncestorAsync(targetHead, sha);
        var conflicts = !upToDate && await repo.MergeTreeAsync(targetHead, sha) is null;
        var changes = baseSha is null ? 0 : (await GitCli.RunAsync(repo.Path, "diff", "--name-only", baseSha, sha))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        if (comparisons.Count > 100_000) comparisons.Clear();
        return comparisons[(target.Id, targetHead, sha)] = new Comparison(baseSha, upToDate, conflicts, changes);
    }

    /// <summary>
    /// GitLab keeps <c>refs/merge-requests/:iid/head</c> in the target project, fork or not, at the source head it saw:
    /// moved once for each new head (nothing else moves it: pushes to <c>refs/merge-requests</c> are refused).
    /// </summary>
    private static async Task SyncHeadRefAsync(MergeRequest mr, Project source, Project target, string sha)
    {
        if (mr.HeadRefSha == sha) return;
        var headRef = $"refs/merge-requests/{mr.Iid}/head";
        if (source.Id == target.Id) await GitCli.RunAsync(target.RepoPath, "update-ref", headRef, sha);
        else await new Repository(target.RepoPath).FetchAsync(source.RepoPath, sha, headRef);
        mr.HeadRefSha = sha;
    }

    public void StartRebase(MergeRequest mr, User user, PushOptions options)
    {
        var source = store.ProjectById(mr.SourceProjectId);
        // GitLab's authorize_push_to_merge_request!: the rebase is a push to the source branch, protection included.
        if (!store.CanPush(source, mr.SourceBranch, user)) throw GitLabError.Forbidden("Cannot push to source branch");
        // RebaseService#validate: a rebase rewrites the branch, so a protected one must allow force push (any matching rule),
        // whoever asks, even a Maintainer.
        if (source.IsProtected(mr.SourceBranch) && !source.ProtectionsOf(mr.SourceBranch).Any(p => p.AllowForcePush))
            throw GitLabError.Forbidden("Source branch is protected from force push");
        if (mr.State != "opened") throw GitLabError.MethodNotAllowed();
        if (mr.RebaseInProgress) throw GitLabError.Conflict("Rebase is already in progress");
        mr.RebaseInProgress = true;
        mr.MergeError = null;
        _ = Task.Run(() => RebaseAsync(mr, user, options));
    }

    private const string RebaseCrashed = "Rebase failed: Something went wrong during the rebase. Try again later.";

    /// <summary>The commits rebased in a scratch repository, to push over <see cref="OldHead"/> by lease.</summary>
    private sealed record Rebased(Project Source, string Branch, string OldHead, string NewHead);

    /// <summary>
    /// In the background, as GitLab's Sidekiq rebases: git works in a scratch repository without any lock, so the
    /// merge request and its project stay readable meanwhile; the push (by lease on the head the rebase started
    /// from) and what follows it are made under the project's lock, and only then does the rebase read as done.
    /// </summary>
    private async Task RebaseAsync(MergeRequest mr, User user, PushOptions options)
    {
        await Task.Delay(store.Options.RebaseDuration);
        var work = Directory.CreateTempSubdirectory("sandbox-rebase-").FullName;
        try
        {
            Rebased? rebased = null;
            string? error;
            try
            {
                (rebased, error) = await RebaseInScratchAsync(mr, user, work);
            }
            catch (Exception e)
            {
                logger.LogError(e, "rebase of !{Iid} failed", mr.Iid);
                error = RebaseCrashed;
            }
            await using (await store.LockAsync(store.ProjectById(mr.TargetProjectId)))
            {
                try
                {
                    if (rebased is not null) error = await PushRebasedAsync(mr, rebased, user, options);
                }
                catch (Exception e)
                {
                    logger.LogError(e, "rebase of !{Iid} failed", mr.Iid);
                    error = RebaseCrashed;
                }
                finally
                {
                    if (error is not null) mr.MergeError = error;
                    mr.RebaseInProgress = false;
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// The rebase itself, or why there is nothing to push (null and null: already on top of the target). The scratch
    /// repository borrows the objects of both repositories (git's alternates, as Gitaly's object pools share them)
    /// instead of copying either; the commits it makes are then fetched into the source repository, which changes none
    /// of its refs, so that only the branch's move is left for the lock.
    /// </summary>
    private async Task<(Rebased? Rebased, string? Error)> RebaseInScratchAsync(MergeRequest mr, User user, string work)
    {
        var source = store.ProjectById(mr.SourceProjectId);
        var target = store.ProjectById(mr.TargetProjectId);
        var oldHead = await store.Repo(source).BranchHeadAsync(mr.SourceBranch);
        var targetHead = await store.Repo(target).BranchHeadAsync(mr.TargetBranch);
        if (oldHead is null || targetHead is null) return (null, "Rebase failed: the source or target branch no longer exists.");
        await GitCli.RunAsync(null, "init", "-q", work);
        await File.WriteAllLinesAsync(Path.Combine(work, ".git", "objects", "info", "alternates"),
            [Path.Combine(source.RepoPath, "objects"), Path.Combine(target.RepoPath, "objects")]);
        if ((await GitCli.TryRunAsync(work, ["merge-base", "--is-ancestor", targetHead, oldHead])).ExitCode == 0)
            return (null, null); // already on top of the target: GitLab changes nothing
        await GitCli.RunAsync(work, "checkout", "-q", "--detach", oldHead);
        var who = new GitCli.Identity(user.Name, user.Email);
        var rebase = await GitCli.TryRunAsync(work, ["rebase", "-q", targetHead], identity: who);
        if (rebase.ExitCode != 0)
        {
            await GitCli.TryRunAsync(work, ["rebase", "--abort"]);
            return (null, "Rebase failed: Rebase locally, resolve all conflicts, then push the branch.");
        }
        var newHead = (await GitCli.RunAsync(work, "rev-parse", "HEAD")).Trim();
        await GitCli.RunAsync(source.RepoPath, "fetch", "-q", "--no-tags", "--no-write-fetch-head", work, newHead);
        return (new Rebased(source, mr.SourceBranch, oldHead, newHead), null);
    }

    /// <summary>Under the project's lock: the rebased branch replaces the one it started from, or the error why not.</summary>
    private async Task<string?> PushRebasedAsync(MergeRequest mr, Rebased rebased, User user, PushOptions options)
    {
        var (source, branch, oldHead, newHead) = rebased;
        if (!await store.Repo(source).UpdateRefAsync($"refs/heads/{branch}", newHead, oldHead))
            return "Rebase failed: the source branch changed during the rebase. Try again.";
        // GitLab's own rebase keeps the approvals: the push it makes is known as the rebase's.
        mr.RebaseCommitSha = newHead;
        await NotifyPushedAsync(source, branch, oldHead, newHead, user, options);
        return null;
    }

    /// <summary>
    /// Called under the project's lock after a branch moves (API commits, rebases, merges, git pushes), for CI and hooks to
    /// follow; <c>after</c> is the zero SHA when a push deleted the branch.
    /// </summary>
    public Func<Project, string, string?, string, User, PushOptions, Task>? BranchPushed { get; set; }

    /// <summary>Called under the target's lock when an MR opens, changes, is approved or merged: (mr, action, user, oldrev, changes).</summary>
    public Func<MergeRequest, string, User, string?, System.Text.Json.Nodes.JsonObject?, Task>? MergeRequestChanged { get; set; }

    public Task NotifyChangedAsync(MergeRequest mr, string action, User user) =>
        MergeRequestChanged?.Invoke(mr, action, user, null, null) ?? Task.CompletedTask;

    /// <summary>The one way every kind of push reaches the model: new diff versions, mergeability rechecks, then CI and hooks.</summary>
    public async Task NotifyPushedAsync(Project project, string branch, string? before, string after, User user, PushOptions options)
    {
        if (!Deleted(after))
            foreach (var mr in store.MergeRequests.Where(m => m.State == "opened" && m.SourceProjectId == project.Id && m.SourceBranch == branch).ToList())
                await AddVersionAsync(mr, after);
        store.BranchMoved(project, branch);
        await (BranchPushed?.Invoke(project, branch, before, after, user, options) ?? Task.CompletedTask);
    }

    private static bool Deleted(string after) => after.Length == 0 || after.All(c => c == '0');

    /// <summary>
    /// GitLab's MergeRequest#reload_diff after a push (and create_merge_request_diff when it opens): a new version for a new
    /// source head, compared with the target branch's head, with the head ref in the target moved to it.
    /// </summary>
    public async Task AddVersionAsync(MergeRequest mr, string head)
    {
        if (mr.Versions.Count > 0 && mr.Versions[^1].HeadCommitSha == head) return;
        var source = store.ProjectById(mr.SourceProjectId);
        var target = store.ProjectById(mr.TargetProjectId);
        var targetHead = await store.Repo(target).BranchHeadAsync(mr.TargetBranch);
        await SyncHeadRefAsync(mr, source, target, head);
        var compared = targetHead is null ? null : await CompareAsync(target, targetHead, head);
        mr.Versions.Add(new DiffVersion(store.NewId(), head, compared?.BaseSha, targetHead, store.Now, compared?.Changes));
    }

    public async Task MergeAsync(MergeRequest mr, User user, string? sha, bool? removeSource, string? message, string? squashMessage = null)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var source = store.ProjectById(mr.SourceProjectId);
        // GitLab's order: 401 (may not merge) → 405 (not mergeable) → 422 → 409 (sha).
        if (!store.CanMergeInto(target, mr.TargetBranch, user)) throw GitLabError.Unauthorized();
        var m = await EvaluateAsync(mr);
        if (!m.Mergeable) throw GitLabError.MethodNotAllowed();
        if (sha is not null && sha != m.Sha) throw GitLabError.Conflict($"SHA does not match HEAD of source branch: {m.Sha}");

        var repo = store.Repo(target);
        var targetHead = m.StartSha!;
        var headRef = $"refs/merge-requests/{mr.Iid}/head";
        string newTarget;
        string? mergeCommit = null;
        string? squashCommit = null;
        var merging = headRef;
        if (target.SquashesOnMerge(mr.Squash))
        {
            // One commit with the source's tree on the merge base, by the MR's author and committed by the merger;
            // its message the squash message given, else the MR's title (GitLab's default template).
            var author = store.UserById(mr.AuthorId);
            var onto = await repo.MergeBaseAsync(targetHead, m.Sha!) ?? targetHead;
            var sourceTree = (await repo.TreeOfAsync(m.Sha!))!;
            squashCommit = await repo.CommitTreeAsync(sourceTree, [onto], squashMessage ?? mr.Title, new(user.Name, user.Email), store.Now,
                new(author.Name, author.Email));
            merging = squashCommit;
        }
        if (target.MergeMethod == "ff")
        {
            newTarget = squashCommit ?? m.Sha!;
        }
        else
        {
            var tree = await repo.MergeTreeAsync(targetHead, merging) ?? throw GitLabError.Unprocessable("Branch cannot be merged");
            var text = message ?? $"Merge branch '{mr.SourceBranch}' into '{mr.TargetBranch}'\n\n{mr.Title}\n\nSee merge request {target.FullPath}!{mr.Iid}\n";
            mergeCommit = newTarget = await repo.CommitTreeAsync(tree, [targetHead, squashCommit ?? m.Sha!], text, new(user.Name, user.Email), store.Now);
        }
        if (!await repo.UpdateRefAsync($"refs/heads/{mr.TargetBranch}", newTarget, targetHead))
            throw GitLabError.Unprocessable("Branch cannot be merged");

        mr.State = "merged";
        mr.MergedAt = mr.UpdatedAt = store.Now;
        mr.MergedById = user.Id;
        mr.MergeCommitSha = mergeCommit;
        mr.SquashCommitSha = squashCommit;
        mr.MergedSha = m.Sha;
        await NotifyPushedAsync(target, mr.TargetBranch, targetHead, newTarget, user, PushOptions.None);
        if (removeSource ?? mr.ShouldRemoveSourceBranch ?? mr.ForceRemoveSourceBranch)
            await store.Repo(source).DeleteRefAsync($"refs/heads/{mr.SourceBranch}", m.Sha!);
        await NotifyChangedAsync(mr, "merge", user);
    }
}
