using System.Text.Json.Nodes;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

/// <summary>
/// GitLab's resource label events of an MR (doc/api/resource_label_events.md): label changes are recorded here, by
/// whom and when, and not as notes (doc/api/notes.md says so).
/// </summary>
public static class ResourceLabelEventsApi
{
    private const string Base = "/projects/{id}/merge_requests/{iid}/resource_label_events";

    public static void MapResourceLabelEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", Base, r =>
        {
            var (_, mr) = MergeRequestsApi.Find(r);
            return GitLabEndpoint.List(r, [.. mr.LabelEvents.OrderBy(e => e.Id).Select(e => (JsonNode)View(r, mr, e))]);
        });

        app.MapGitLab("GET", Base + "/{eventId}", r =>
        {
            var (_, mr) = MergeRequestsApi.Find(r);
            var id = r.RouteLong("eventId", "Resource label event");
            var e = mr.LabelEvents.FirstOrDefault(e => e.Id == id) ?? throw GitLabError.RecordNotFound();
            return GitLabEndpoint.Json(View(r, mr, e));
        });
    }

    private static JsonObject View(GitLabRequest r, MergeRequest mr, LabelEvent e) => new()
    {
        ["id"] = e.Id,
        ["user"] = r.Service<Views>().UserBasic(r.Store.UserById(e.UserId)),
        ["created_at"] = Views.Time(e.CreatedAt),
        ["resource_type"] = "MergeRequest",
        ["resource_id"] = mr.Id,
        ["label"] = new JsonObject { ["id"] = e.Label.Id, ["name"] = e.Label.Title, ["color"] = e.Label.Color, ["description"] = null },
        ["action"] = e.Action,
    };
}
