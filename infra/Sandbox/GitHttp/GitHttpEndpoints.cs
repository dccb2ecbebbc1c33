using Microsoft.AspNetCore.Http.Features;
using Sandbox.Ci;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.GitHttp;

/// <summary>Where the hook calls back and where it lives; the callback address is known once the sandbox listens.</summary>
public sealed class GitHttpSettings(SandboxStore store)
{
    public string HooksPath { get; } = PreReceiveHook.Install(store.DataDir);
    public string CallbackUrl { get; set; } = "";
}

/// <summary>
/// Smart HTTP on <c>&lt;base&gt;/&lt;namespace&gt;/&lt;project&gt;.git</c>, as GitLab serves it: HTTP Basic with a token
/// (<see cref="GitClientAuth"/>), GitLab's access checks before git runs (<see cref="GitAccess"/>), ref changes
/// judged in pre-receive, and what a push moved handed to the same path as an API push.
/// </summary>
public static class GitHttpEndpoints
{
    private const string UploadPack = "git-upload-pack", ReceivePack = "git-receive-pack";

    private const string AccessDenied = "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was "
        + "incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, "
        + "expired, or improperly scoped. See {0}/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied";

    public static void MapGitHttp(this IEndpointRouteBuilder app)
    {
        // Git's own paths only, so a wrong method on an API route still gets the API's 405.
        app.MapGet("/{ns}/{project}.git/info/refs", Serve);
        app.MapPost("/{ns}/{project}.git/" + UploadPack, Serve);
        app.MapPost("/{ns}/{project}.git/" + ReceivePack, Serve);
    }

    private static async Task<IResult> Serve(HttpContext context, string ns, string project, SandboxStore store, JobExecutor jobs, PushSessions sessions,
        GitHttpSettings settings, MergeRequestService merges, ILoggerFactory loggers)
    {
        var projectPath = $"{ns}/{project}";
        var pathInfo = context.Request.Path.Value![(context.Request.Path.Value!.LastIndexOf(".git/", StringComparison.Ordinal) + 4)..];
        var command = pathInfo == "/info/refs" ? context.Request.Query["service"].FirstOrDefault() : pathInfo[1..];
        if (command is not (UploadPack or ReceivePack)) return Text(403, "The command you're trying to execute is not allowed.");

        var found = store.ProjectByPath(projectPath);
        var client = GitClientAuth.BasicCredentials(context) is var (login, password) ? GitClientAuth.Find(store, jobs, login, password) : null;
        // Without valid credentials only an anonymous clone of a public project goes on; everything else is
        // challenged, whether the project exists or not, so a 401 says nothing about it.
        var anonymousClone = command == UploadPack && found is { Visibility: "public" } && !context.Request.Headers.Authorization.Any();
        if (client is null && !anonymousClone) return Challenge(store);
        if (found is null) return Text(404, GitAccess.ProjectNotFound);
        PushSession? push = null;
        // The checks read the project's rights (and, for a fork, its upstream's merge requests) under its lock; git
        // itself runs without it, so a long clone or push holds back no one.
        await using (await store.LockAsync(found))
        {
            try
            {
                if (command == UploadPack) GitAccess.CheckDownload(store, client, found);
                else GitAccess.CheckPush(store, client!, found);
            }
            catch (GitAccessDenied e)
            {
                return Text(e.Status, e.Message);
            }
            if (command == ReceivePack && pathInfo == "/" + ReceivePack) push = sessions.Open(client!, found.Id);
        }

        // GitLab puts no small limit on a push; Kestrel's default would.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        var env = new Dictionary<string, string>();
        if (client is not null) env["REMOTE_USER"] = client.User.Username;
        if (push is not null)
        {
            env[PreReceiveHook.KeyVariable] = push.Key;
            env[PreReceiveHook.UrlVariable] = settings.CallbackUrl;
        }
        try
        {
            await HttpBackend.RunAsync(context, found.RepoPath, pathInfo, settings.HooksPath, env, loggers.CreateLogger("Sandbox.GitHttp"));
        }
        finally
        {
            if (push is not null)
            {
                sessions.Close(push);
                await using (await store.LockAsync(found))
                    await PostReceiveAsync(store, merges, found, push);
            }
        }
        return Results.Empty;
    }

    /// <summary>
    /// What GitLab's PostReceive does for branches: every change the hook let through and git then applied goes
    /// the way an API push goes (MR rechecks and updates, branch pipelines with the push options, push hooks).
    /// </summary>
    private static async Task PostReceiveAsync(SandboxStore store, MergeRequestService merges, Project project, PushSession push)
    {
        var repo = store.Repo(project);
        foreach (var change in push.Accepted)
        {
            if (GitRef.BranchName(change.RefName) is not { } branch) continue;
            var head = await repo.BranchHeadAsync(branch);
            var applied = change.Deletion ? head is null : head == change.NewSha;
            if (!applied) continue;
            await merges.NotifyPushedAsync(project, branch, change.Creation ? null : change.OldSha, change.NewSha, push.Client.User, push.Options);
        }
    }

    private static IResult Text(int status, string message) => Results.Text(message, "text/plain; charset=utf-8", statusCode: status);

    /// <summary>GitLab's answer without (valid) credentials: a Basic challenge and its "Access denied" text.</summary>
    private static IResult Challenge(SandboxStore store) => new ChallengeResult(string.Format(System.Globalization.CultureInfo.InvariantCulture,
        AccessDenied, store.ExternalUrl.TrimEnd('/')));

    private sealed class ChallengeResult(string message) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"GitLab\"";
            return Text(401, message).ExecuteAsync(context);
        }
    }
}
