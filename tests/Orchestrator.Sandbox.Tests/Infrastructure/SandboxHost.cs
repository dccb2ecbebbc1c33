using Sandbox;
using Xunit;

namespace Orchestrator.Sandbox.Tests.Infrastructure;

/// <summary>The sandbox on a real loopback port (python-gitlab needs one), short asynchrony for tests.</summary>
public sealed class SandboxHost : IAsyncLifetime
{
    public const string AdminToken = "glpat-admin-for-tests";
    public static readonly TimeSpan RebaseDuration = TimeSpan.FromMilliseconds(600);
    public static readonly TimeSpan MergeCheckDuration = TimeSpan.FromMilliseconds(1000);

    private LoopbackSandbox? sandbox;

    public Uri BaseUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        sandbox = await LoopbackSandbox.StartAsync(AdminToken, new Dictionary<string, string?>
        {
            ["Sandbox:RebaseDuration"] = RebaseDuration.ToString(),
            ["Sandbox:MergeCheckDuration"] = MergeCheckDuration.ToString(),
        });
        BaseUrl = new Uri(sandbox.BaseUrl);
    }

    public HttpClient Client(string? token = AdminToken)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl, "/api/v4/") };
        if (token is not null) client.DefaultRequestHeaders.Add("PRIVATE-TOKEN", token);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (sandbox is not null) await sandbox.DisposeAsync();
    }
}
