using System.Text;

namespace Orchestrator.Adapters.Git;

/// <summary>
/// Everything a git process of the worker sees besides its arguments. The repositories are untrusted (any fork's
/// author writes them), so nothing they contain may make git run a program, and no configuration but this one counts:
/// no system or global file, no hooks, no filters, no attributes, no submodules, no protocols but HTTP(S).
/// Settings go through <c>GIT_CONFIG_*</c> variables, which outrank the mirror's own config file and never show in a
/// process list; the token travels the same way.
/// </summary>
internal static class GitEnvironment
{
    /// <summary>git's empty tree: as <c>attr.tree</c> (git 2.42+) it means "read no .gitattributes from any commit".</summary>
    public const string EmptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

    private static readonly (string Key, string Value)[] Safe =
    [
        // Hooks: none, whatever the mirror's hooks folder holds.
        ("core.hooksPath", "/dev/null"),
        // Attributes: no user or in-history .gitattributes can name a filter, merge or diff driver.
        ("core.attributesFile", "/dev/null"),
        ("attr.tree", EmptyTree),
        // Filters: the worker never checks out or adds files, and LFS's (the one a machine commonly configures) is emptied.
        ("filter.lfs.process", ""), ("filter.lfs.smudge", ""), ("filter.lfs.clean", ""), ("filter.lfs.required", "false"),
        ("core.fsmonitor", "false"),
        // Submodules: never followed, fetched or pushed.
        ("fetch.recurseSubmodules", "false"), ("submodule.recurse", "false"), ("push.recurseSubmodules", "no"),
        ("protocol.file.allow", "never"), ("protocol.ext.allow", "never"),
        // Objects from an untrusted remote are checked as they arrive (malformed trees, .git paths, …).
        ("transfer.fsckObjects", "true"), ("fetch.fsckObjects", "true"), ("receive.fsckObjects", "true"),
        // Credentials: only the header below; no helper, no prompt, no redirect carrying the header elsewhere.
        ("credential.helper", ""), ("core.askPass", ""), ("http.followRedirects", "false"),
        ("commit.gpgSign", "false"), ("push.gpgSign", "false"),
        // No background processes outliving a command (they would hold the mirror while it is deleted or rebuilt).
        ("maintenance.auto", "false"), ("gc.autoDetach", "false"),
        ("core.quotePath", "false"), ("advice.detachedHead", "false"),
    ];

    /// <param name="home">An empty folder of the worker's: git reads nothing from it (global config is /dev/null) but wants one.</param>
    /// <param name="gitLab">GitLab's base URL: the token is sent there only (git's per-URL <c>http.&lt;url&gt;.extraHeader</c>).</param>
    /// <param name="token">The bot's personal access token, or null for commands that talk to no remote.</param>
    public static Dictionary<string, string> For(string home, Uri gitLab, string? token)
    {
        var env = new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            ["HOME"] = home,
            ["XDG_CONFIG_HOME"] = home,
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_ATTR_NOSYSTEM"] = "1",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_ASKPASS"] = "",
            ["SSH_ASKPASS"] = "",
            ["GIT_NO_REPLACE_OBJECTS"] = "1",
            ["GIT_PROTOCOL_FROM_USER"] = "0",
            ["GIT_ALLOW_PROTOCOL"] = gitLab.Scheme == Uri.UriSchemeHttp ? "http:https" : "https",
            ["LC_ALL"] = "C",
        };
        var config = Safe.ToList();
        if (token is not null)
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("oauth2:" + token));
            config.Add(($"http.{gitLab.GetLeftPart(UriPartial.Authority)}/.extraHeader", "Authorization: Basic " + basic));
        }
        env["GIT_CONFIG_COUNT"] = config.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < config.Count; i++)
        {
            env[$"GIT_CONFIG_KEY_{i}"] = config[i].Key;
            env[$"GIT_CONFIG_VALUE_{i}"] = config[i].Value;
        }
        return env;
    }
}
