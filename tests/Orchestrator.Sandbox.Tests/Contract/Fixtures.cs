using System.Text.Json.Nodes;

namespace Orchestrator.Sandbox.Tests.Contract;

/// <summary>GitLab's documented examples in <c>../shared/fixtures</c>, beside the checkout (CI lays a copy there too).</summary>
public static class Fixtures
{
    public static string Root
    {
        get
        {
            if (Environment.GetEnvironmentVariable("ORCH_SHARED") is { Length: > 0 } shared) return Path.Combine(shared, "fixtures");
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) dir = dir.Parent;
            if (dir?.Parent is null) throw new DirectoryNotFoundException("no Orchestrator.sln above the test binaries");
            var root = Path.Combine(dir.Parent.FullName, "shared", "fixtures");
            // A missing folder is a failure, never a skip: the contract is the point of these tests.
            return Directory.Exists(root) ? root : throw new DirectoryNotFoundException($"fixtures folder missing: {root}");
        }
    }

    public static JsonNode GitLabApi(string file) => Load(Path.Combine(Root, "gitlab", "api", file));

    public static JsonNode GitLabWebhook(string file) => Load(Path.Combine(Root, "gitlab", "webhooks", file));

    public static IReadOnlyList<string> GitLabApiFiles() =>
        [.. Directory.GetFiles(Path.Combine(Root, "gitlab", "api"), "*.json").Select(Path.GetFileName).Order()!];

    private static JsonNode Load(string path) =>
        File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))! : throw new FileNotFoundException($"fixture missing: {path}");
}
