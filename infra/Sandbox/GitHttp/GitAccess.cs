using System.Text.RegularExpressions;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.GitHttp;

/// <summary>A refusal in GitLab's words; <see cref="Status"/> is what the HTTP side answers with it.</summary>
public sealed class GitAccessDenied(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>One line a pre-receive hook reads: <c>&lt;old&gt; &lt;new&gt; &lt;ref&gt;</c>.</summary>
public sealed record RefChange(string OldSha, string NewSha, string RefName)
{
    public bool Creation => GitRef.IsBlank(OldSha);
    public bool Deletion => GitRef.IsBlank(NewSha);

    public static IReadOnlyList<RefChange> ParseAll(string lines) =>
        [.. lines.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', 3)).Where(p => p.Length == 3).Select(p => new RefChange(p[0], p[1], p[2]))];
}

/// <summary>
/// GitLab's Gitlab::GitAccess for git over HTTP, in its order: the credentials' abilities, then whether the
/// project can be seen, then download or push. Pushes are judged twice, as GitLab does: for any change when the
/// client asks for the refs (Workhorse's access check), then ref by ref in pre-receive (PushCheck, BranchCheck).
/// </summary>
public static partial class GitAccess
{
    public const string ProjectNotFound = "The project you were looking for could not be found or you don't have permission to view it.";
    public const string AuthDownload = "You are not allowed to download code.";
    public const string AuthUpload = "You are not allowed to upload code.";
    public const string Download = "You are not allowed to download code from this project.";
    public const string PushCode = "You are not allowed to push code to this project.";
    public const string DeleteDefaultBranch = "The default branch of a project cannot be deleted.";
    public const string HexBranchName = "You cannot create a branch with a 40-character hexadecimal branch name.";
    public const string ForcePushProtected = "You are not allowed to force push code to a protected branch on this project.";
    public const string PushProtected = "You are not allowed to push code to protected branches on this project.";
    public const string CreateProtected = "You are not allowed to create protected branches on this project.";
    public const string CreateProtectedFromUnprotected = "You can only use an existing protected branch ref as the basis of a new protected branch.";
    public const string CreateProtectedOnlyOnWeb = "You can only create protected branches using the web interface and API.";
    public const string DeleteProtected = "You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch.";
    public const string DeleteProtectedOnlyOnWeb = "You can only delete protected branches using the web interface.";

    /// <summary>A clone or fetch; <paramref name="client"/> null is an anonymous one (only public projects get this far).</summary>
    public static void CheckDownload(SandboxStore store, GitClient? client, Project project)
    {
        if (client is { CanDownloadCode: false }) throw new GitAccessDenied(403, AuthDownload);
        if (project.Visibility == "public") return;
        if (client is null) throw new GitAccessDenied(404, ProjectNotFound);
        CheckJobTokenScope(store, client, project);
        if (!store.CanRead(project, client.User)) throw new GitAccessDenied(404, ProjectNotFound);
        // Internal projects let every signed-in user download; private ones want a Reporter.
        var mayDownload = project.Visibility == "internal" || store.AccessLevelOf(project, client.User) >= AccessLevel.Reporter;
        if (!mayDownload) throw new GitAccessDenied(403, Download);
    }

    /// <summary>A push before its changes are known (GitLab's <c>changes == ANY</c>).</summary>
    public static void CheckPush(SandboxStore store, GitClient client, Project project)
    {
        if (!client.CanPushCode) throw new GitAccessDenied(403, AuthUpload);
        if (!store.CanRead(project, client.User)) throw new GitAccessDenied(404, ProjectNotFound);
        if (store.AccessLevelOf(project, client.User) < AccessLevel.Developer && !store.AnyBranchAllowsCollaboration(project, client.User))
            throw new GitAccessDenied(403, PushCode);
    }

    /// <summary>
    /// Each change of a push, in pre-receive, where the pushed objects are still in git's quarantine:
    /// <paramref name="quarantine"/> is the hook's object directory environment, so ancestry can be read.
    /// </summary>
    public static async Task CheckChangesAsync(SandboxStore store, GitClient client, Project project, IReadOnlyList<RefChange> changes,
        IReadOnlyDictionary<string, string> quarantine)
    {
        var repo = store.Repo(project);
        var emptyRepo = (await repo.BranchesAsync()).Count == 0;
        foreach (var change in changes)
        {
            var branch = GitRef.BranchName(change.RefName);
            var level = store.AccessLevelOf(project, client.User);
            if (level < AccessLevel.Developer && (branch is null || !store.CollaborationAllowsPush(project, branch, client.User)))
                throw new GitAccessDenied(403, PushCode);
            if (branch is not null) await CheckBranchAsync(store, client.User, project, repo, branch, change, emptyRepo, quarantine);
        }
    }

    /// <summary>GitLab's Checks::BranchCheck.</summary>
    private static async Task CheckBranchAsync(SandboxStore store, User user, Project project, Repository repo, string branch,
        RefChange change, bool emptyRepo, IReadOnlyDictionary<string, string> quarantine)
    {
        if (change.Deletion && branch == project.DefaultBranch) throw new GitAccessDenied(403, DeleteDefaultBranch);
        if (!change.Deletion && HexName().IsMatch(branch)) throw new GitAccessDenied(403, HexBranchName);
        if (!project.IsProtected(branch)) return;

        var forced = !change.Creation && !change.Deletion
            && (await GitCli.TryRunAsync(repo.Path, ["merge-base", "--is-ancestor", change.OldSha, change.NewSha], env: quarantine)).ExitCode != 0;
        if (forced && !project.ProtectionsOf(branch).Any(p => p.AllowForcePush)) throw new GitAccessDenied(403, ForcePushProtected);

        if (change.Creation && !emptyRepo)
        {
            if (store.CanPush(project, branch, user)) return;
            if (!store.CanMergeInto(project, branch, user)) throw new GitAccessDenied(403, CreateProtected);
            var containing = await GitCli.TryRunAsync(repo.Path, ["for-each-ref", $"--contains={change.NewSha}", "--format=%(refname)", GitRef.BranchPrefix],
                env: quarantine);
            var fromProtected = containing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Any(r => GitRef.BranchName(r) is { } b && project.IsProtected(b));
            throw new GitAccessDenied(403, fromProtected ? CreateProtectedOnlyOnWeb : CreateProtectedFromUnprotected);
        }
        if (change.Deletion && !emptyRepo)
            throw new GitAccessDenied(403, store.AccessLevelOf(project, user) >= AccessLevel.Maintainer ? DeleteProtectedOnlyOnWeb : DeleteProtected);
        if (!store.CanPush(project, branch, user)) throw new GitAccessDenied(403, PushProtected);
    }

    /// <summary>
    /// A job token reaches its own project and public ones: the job token allowlist GitLab turns on by default
    /// names no other project here.
    /// </summary>
    private static void CheckJobTokenScope(SandboxStore store, GitClient client, Project project)
    {
        if (client.Job is not { } job || job.Pipeline.ProjectId == project.Id) return;
        var source = store.ProjectById(job.Pipeline.ProjectId);
        throw new GitAccessDenied(403, $"Authentication by CI/CD job token not allowed from {source.Path} to {project.Path}.");
    }

    [GeneratedRegex(@"\A[0-9a-fA-F]{40}(-/|/|\z)")]
    private static partial Regex HexName();
}
