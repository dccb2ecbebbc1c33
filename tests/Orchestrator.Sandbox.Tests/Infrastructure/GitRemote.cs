using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Git;

namespace Orchestrator.Sandbox.Tests.Infrastructure;

/// <summary>A person's credentials for git over HTTP: a login (their username, <c>oauth2</c>, …) and a token.</summary>
public sealed record GitLogin(string Login, string Token);

/// <summary>
/// The real git client against the sandbox's smart HTTP. Credentials go in an Authorization header set through
/// the environment, never in the URL or the arguments, as the orchestrator's own git worker must do.
/// </summary>
public static class GitRemote
{
    public static readonly GitCli.Identity Author = new("Git Tester", "git-tester@example.com");

    /// <summary><c>&lt;base&gt;/&lt;namespace&gt;/&lt;project&gt;.git</c> of a project as the API shows it.</summary>
    public static string Url(SandboxHost host, JsonNode project) => new Uri(host.BaseUrl, project.Str("path_with_namespace") + ".git").ToString();

    /// <summary>The token a test client sends as <c>PRIVATE-TOKEN</c>.</summary>
    public static GitLogin As(HttpClient client, string login) => new(login, client.DefaultRequestHeaders.GetValues("PRIVATE-TOKEN").Single());

    public static Task<GitResult> Run(string? workDir, GitLogin? who, params string[] args)
    {
        var env = new Dictionary<string, string> { ["GIT_CONFIG_COUNT"] = "1", ["GIT_CONFIG_KEY_0"] = "credential.helper", ["GIT_CONFIG_VALUE_0"] = "" };
        if (who is not null)
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{who.Login}:{who.Token}"));
            env["GIT_CONFIG_COUNT"] = "2";
            env["GIT_CONFIG_KEY_1"] = "http.extraHeader";
            env["GIT_CONFIG_VALUE_1"] = $"Authorization: Basic {basic}";
        }
        return GitCli.TryRunAsync(workDir, args, identity: Author, env: env);
    }

    /// <summary>A fresh clone in a temporary folder; fails the test with git's words when git refuses.</summary>
    public static async Task<string> Clone(string url, GitLogin? who)
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("sandbox-git-test-").FullName, "clone");
        var r = await Run(null, who, "clone", "-q", url, dir);
        if (r.ExitCode != 0) throw new InvalidOperationException($"git clone {url} failed: {r.Stderr}");
        return dir;
    }

    /// <summary>Writes a file and commits it; returns the new commit's SHA.</summary>
    public static async Task<string> Commit(string dir, string file, string content, string message)
    {
        await File.WriteAllTextAsync(Path.Combine(dir, file), content);
        await Run(dir, null, "add", file);
        var r = await Run(dir, null, "commit", "-q", "-m", message);
        if (r.ExitCode != 0) throw new InvalidOperationException($"git commit failed: {r.Stderr}");
        return (await Run(dir, null, "rev-parse", "HEAD")).Stdout.Trim();
    }
}
