using System.Security.Cryptography;
using System.Text;
using Orchestrator.Testing;

namespace Orchestrator.Bench.Workload;

/// <summary>
/// The orchestrator as users run it: the silo process (src/Silo) with its API, on its own PostgreSQL schema,
/// webhooks from the sandbox (each project signing with its own secret), the default 10 s poll. Its memory is read
/// from /proc, as an operator would.
/// Two API tokens, both made for this process: an admin one for policies and reads, and a merge one that acts for
/// <c>requester</c>, a GitLab user (a Maintainer of the projects): the bot acts only for people who may merge, so
/// the workload asks as one of them and every merge pays for the permission checks it would pay in production.
/// </summary>
public sealed class OrchestratorProcess : IAsyncDisposable
{
    private readonly SiloProcess process;
    private readonly string adminToken;
    private readonly string mergeToken;
    private readonly HookSecrets secrets;

    private OrchestratorProcess(SiloProcess process, string url, string schema, string adminToken, string mergeToken, HookSecrets secrets)
    {
        this.process = process;
        Url = url;
        Schema = schema;
        this.adminToken = adminToken;
        this.mergeToken = mergeToken;
        this.secrets = secrets;
    }

    public string Url { get; }
    public string Schema { get; }
    public int Pid => process.Pid;

    /// <summary>The admin token: policies, the operations API, reading workflows.</summary>
    public Rest Api => Rest.Orchestrator(Url, adminToken);

    /// <summary>The token that asks for merges on behalf of the requester (a GitLab user whose rights the bot checks).</summary>
    public Rest Requests => Rest.Orchestrator(Url, mergeToken);

    /// <summary>Registers the project's hook in the sandbox, signed with that project's own secret.</summary>
    public Task<System.Text.Json.Nodes.JsonNode> AddHookAsync(Rest owner, long project) =>
        BenchProjects.AddHookAsync(owner, project, Url, secrets.Of(project));

    public static Task<OrchestratorProcess> StartAsync(string siloDll, string connection, string schema, SandboxHost sandbox,
        string botUsername, string botToken, string requester, HookSecrets secrets) =>
        LaunchAsync(new Launch(siloDll, connection, schema, sandbox, botUsername, botToken, requester, secrets,
            RandomNumberGenerator.GetHexString(40, lowercase: true), RandomNumberGenerator.GetHexString(40, lowercase: true),
            $"http://127.0.0.1:{Ports.Free()}"));

    /// <summary>Everything a start needs, kept so the same orchestrator (schema, tokens, address) can be started again.</summary>
    private sealed record Launch(string SiloDll, string Connection, string Schema, SandboxHost Sandbox, string BotUsername, string BotToken,
        string Requester, HookSecrets Secrets, string AdminToken, string MergeToken, string Url);

    private Launch? launch;

    /// <summary>Ends the process at once (SIGKILL, as a crash would), without waiting for anything it had in flight.</summary>
    public Task KillAsync() => process.KillAsync();

    /// <summary>A new process of the same orchestrator after <see cref="KillAsync"/>: same schema, tokens and address.</summary>
    public Task<OrchestratorProcess> StartAgainAsync() => LaunchAsync(launch!);

    private static async Task<OrchestratorProcess> LaunchAsync(Launch l)
    {
        var (siloDll, connection, schema, sandbox, botUsername, botToken, requester, secrets, adminToken, mergeToken, url) = l;
        var env = new Dictionary<string, string>
        {
            ["Orchestrator__Postgres__ConnectionString"] = connection,
            ["Orchestrator__Postgres__Schema"] = schema,
            ["Orchestrator__Cluster__ServiceId"] = "bench-" + schema,
            ["Orchestrator__GitLab__BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator__GitLab__BotToken"] = botToken,
            ["Orchestrator__GitLab__BotUsername"] = botUsername,
            ["Orchestrator__Registry__Url"] = sandbox.RegistryUrl,
            ["Orchestrator__Api__Tokens__0__Name"] = "bench",
            ["Orchestrator__Api__Tokens__0__Sha256"] = Sha256(adminToken),
            ["Orchestrator__Api__Tokens__0__Scopes__0"] = "admin",
            ["Orchestrator__Api__Tokens__1__Name"] = "bench-requests",
            ["Orchestrator__Api__Tokens__1__Sha256"] = Sha256(mergeToken),
            ["Orchestrator__Api__Tokens__1__Scopes__0"] = "merge",
            ["Orchestrator__Api__Tokens__1__GitLabUser"] = requester,
            ["Logging__LogLevel__Default"] = "Error",
        };
        foreach (var (k, v) in secrets.Settings()) env[k] = v;
        // The merge token reaches only the projects this process serves, as the README advises for any token.
        foreach (var (project, i) in secrets.Projects.Select((p, i) => (p, i)))
            env[$"Orchestrator__Api__Tokens__1__Projects__{i}"] = project.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = SiloProcess.Start(siloDll, url, env);
        try
        {
            await process.WaitHealthyAsync();
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return new OrchestratorProcess(process, url, schema, adminToken, mergeToken, secrets) { launch = l };
    }

    private static string Sha256(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant();

    /// <summary>Resident memory now and at its peak (VmRSS, VmHWM), in MiB.</summary>
    public (double Rss, double Peak) Memory()
    {
        double Read(string key) =>
            File.ReadLines($"/proc/{process.Pid}/status").Where(l => l.StartsWith(key + ":"))
                .Select(l => double.Parse(l.Split(':')[1].Trim().Split(' ')[0]) / 1024).FirstOrDefault();
        return (Read("VmRSS"), Read("VmHWM"));
    }

    /// <summary>CPU seconds the silo process has used (user + system), from /proc.</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{process.Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0; // utime, stime in clock ticks (USER_HZ = 100)
    }

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
