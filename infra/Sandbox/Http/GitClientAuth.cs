using System.Text;
using Sandbox.Ci;
using Sandbox.Model;

namespace Sandbox.Http;

/// <summary>Who a git client (or the registry's token endpoint) is, and what its credentials let it do with code.</summary>
public sealed record GitClient(User User, Job? Job, IReadOnlyList<string> Scopes)
{
    /// <summary>GitLab's <c>abilities_for_scopes</c>: <c>read_repository</c>, <c>write_repository</c> or <c>api</c> read code; a job token does too.</summary>
    public bool CanDownloadCode => Job is not null || Scopes.Any(s => s is "api" or "read_repository" or "write_repository");

    /// <summary>
    /// <c>write_repository</c> or <c>api</c>. A job token may not push: GitLab grants <c>build_push_code</c> only where
    /// a project turns on "allow Git push requests" for job tokens, a setting the sandbox does not have.
    /// </summary>
    public bool CanPushCode => Job is null && Scopes.Any(s => s is "api" or "write_repository");
}

/// <summary>GitLab's Gitlab::Auth.find_for_git_client over HTTP Basic, as git and docker clients send it.</summary>
public static class GitClientAuth
{
    public const string JobTokenUser = "gitlab-ci-token";

    public static (string Login, string Password)? BasicCredentials(HttpContext context)
    {
        if (context.Request.Headers.Authorization.FirstOrDefault() is not { } auth
            || !auth.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..].Trim())).Split(':', 2);
            return pair.Length == 2 && pair[0].Length > 0 ? (pair[0], pair[1]) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// <c>gitlab-ci-token</c> with a running job's token; otherwise a personal access token, whatever the login
    /// (GitLab's personal_access_token_check ignores it, which is why <c>oauth2:&lt;token&gt;</c> works too).
    /// Passwords are not modelled: the sandbox keeps none. Null: GitLab's "HTTP Basic: Access denied".
    /// </summary>
    public static GitClient? Find(SandboxStore store, JobExecutor jobs, string login, string password)
    {
        if (login == JobTokenUser)
            return jobs.JobTokens.TryGetValue(password, out var job) && store.Users.GetValueOrDefault(job.UserId) is { State: "active" } runner
                ? new GitClient(runner, job, [])
                : null;
        return store.ActiveToken(password) is { } pat ? new GitClient(store.Users[pat.UserId], null, pat.Scopes) : null;
    }
}
