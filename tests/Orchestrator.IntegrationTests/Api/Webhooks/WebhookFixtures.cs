using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.IntegrationTests.Api.Webhooks;

/// <summary>
/// GitLab's documented webhook payloads (../shared/fixtures/gitlab/webhooks), and the header each is delivered with.
/// The documented merge request event is itself inconsistent (<c>project.id</c> 1, <c>target_project_id</c> 14), which
/// GitLab never sends: <see cref="Consistent"/> gives it the one project the merge request belongs to.
/// </summary>
public static class WebhookFixtures
{
    public static readonly IReadOnlyDictionary<string, string> EventOf = new Dictionary<string, string>
    {
        ["merge_request.open.json"] = "Merge Request Hook",
        ["note.merge_request.json"] = "Note Hook",
        ["note.commit.json"] = "Note Hook",
        ["pipeline.json"] = "Pipeline Hook",
        ["job.json"] = "Job Hook",
        ["push.json"] = "Push Hook",
        ["tag_push.json"] = "Tag Push Hook",
    };

    public static string Folder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) dir = dir.Parent;
            return Path.Combine(dir!.Parent!.FullName, "shared", "fixtures", "gitlab", "webhooks");
        }
    }

    public static string Text(string name)
    {
        var path = Path.Combine(Folder, name);
        return File.Exists(path) ? File.ReadAllText(path) : throw new FileNotFoundException($"fixture missing: {path}");
    }

    /// <summary>The fixture with every id that names the project agreeing, as GitLab sends it.</summary>
    public static JsonObject Consistent(string name)
    {
        var payload = JsonNode.Parse(Text(name))!.AsObject();
        if (name == "merge_request.open.json") payload["project"]!["id"] = payload["object_attributes"]!["target_project_id"]!.GetValue<long>();
        return payload;
    }

    /// <summary>The project whose secret signs the fixture's deliveries.</summary>
    public static long Signer(string name, JsonNode payload) =>
        EventOf[name] == "Job Hook" ? payload["project_id"]!.GetValue<long>() : payload["project"]!["id"]!.GetValue<long>();

    public static HttpRequestMessage Delivery(string eventName, string body, string? token, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/gitlab") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Gitlab-Event", eventName);
        if (token is not null) request.Headers.Add("X-Gitlab-Token", token);
        request.Headers.Add("Idempotency-Key", idempotencyKey ?? Guid.NewGuid().ToString());
        request.Headers.Add("X-Gitlab-Event-UUID", Guid.NewGuid().ToString());
        return request;
    }
}
