extern alias sandbox;

using sandbox::Sandbox;

namespace Orchestrator.Bench.Workload;

/// <summary>
/// The sandbox GitLab and its registry, inside the benchmark process with GitLab-like defaults (1 s rebase, 1 s
/// mergeability check). Both the orchestrator and the baseline bot work against this one instance.
/// </summary>
public sealed class SandboxHost : IAsyncDisposable
{
    public const string AdminToken = "glpat-bench-admin";
    private readonly LoopbackSandbox sandbox;

    private SandboxHost(LoopbackSandbox sandbox) => this.sandbox = sandbox;

    public string BaseUrl => sandbox.BaseUrl;
    public string RegistryUrl => sandbox.RegistryUrl;
    public Rest Admin => Rest.GitLab(BaseUrl, AdminToken);

    /// <summary>How long a rebase stays in progress before git runs (GitLab's Sidekiq latency, as the sandbox models it).</summary>
    public TimeSpan RebaseDuration => sandbox.Store.Options.RebaseDuration;

    /// <summary>GitLab's modelled mergeability check after a branch moves.</summary>
    public TimeSpan MergeCheckDuration => sandbox.Store.Options.MergeCheckDuration;

    /// <summary>
    /// Every webhook delivery attempt the sandbox made so far, by answer: a refused one (4xx) means a hook was signed
    /// with a secret the orchestrator does not take for that project, and the figures then ride on the 10 s poll.
    /// </summary>
    public async Task<(int Accepted, int Refused, int Failed)> DeliveriesAsync()
    {
        var log = (await Admin.Get("../../-/sandbox/deliveries")).AsArray().Select(d => d!["status"]!.GetValue<int>()).ToList();
        return (log.Count(s => s is >= 200 and < 300), log.Count(s => s is >= 400 and < 500), log.Count(s => s is < 200 or >= 500));
    }

    public static async Task<SandboxHost> StartAsync() => new(await LoopbackSandbox.StartAsync(AdminToken, logLevel: "Error"));

    public ValueTask DisposeAsync() => sandbox.DisposeAsync();
}
