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

    public static async Task<SandboxHost> StartAsync() => new(await LoopbackSandbox.StartAsync(AdminToken, logLevel: "Error"));

    public ValueTask DisposeAsync() => sandbox.DisposeAsync();
}
