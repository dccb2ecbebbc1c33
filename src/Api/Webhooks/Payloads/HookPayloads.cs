using System.Text.Json;
using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>Which payload each <c>X-Gitlab-Event</c> carries, and which of its ids names the signing project.</summary>
public static class HookPayloads
{
    public const string MergeRequest = "Merge Request Hook";
    public const string Note = "Note Hook";
    public const string Pipeline = "Pipeline Hook";
    public const string Job = "Job Hook";
    public const string Push = "Push Hook";

    public static bool IsFollowed(string eventName) => eventName is MergeRequest or Note or Pipeline or Job or Push;

    /// <summary>
    /// The project whose secret must sign the delivery, reading nothing else: before the token is checked a caller
    /// learns only whether this one id is well-formed. Job hooks name it in <c>project_id</c>, the others in
    /// <c>project.id</c> (events the orchestrator does not follow: either).
    /// </summary>
    public static (long? Project, string? Error) Signer(string eventName, JsonElement payload)
    {
        var (reader, root) = PayloadReader.Of(payload);
        var project = eventName switch
        {
            Job => root.PositiveId("project_id"),
            MergeRequest or Note or Pipeline or Push => root.Object("project")?.PositiveId("id"),
            _ => root.OptionalObject("project")?.PositiveId("id") ?? root.OptionalPositiveId("project_id"),
        };
        return reader.Error is { } error ? (null, error) : project is null ? (null, "$.project.id: the payload names no project") : (project, null);
    }

    /// <summary>The typed event, or the first malformed field; neither for events the orchestrator does not follow.</summary>
    public static (WebhookEvent? Event, string? Error) Read(string eventName, JsonElement payload)
    {
        var (reader, root) = PayloadReader.Of(payload);
        WebhookEvent? read = eventName switch
        {
            MergeRequest => MergeRequestHook.Read(reader, root),
            Note => NoteHook.Read(reader, root),
            Pipeline => PipelineHook.Read(reader, root),
            Job => JobHook.Read(reader, root),
            Push => PushHook.Read(reader, root),
            _ => null,
        };
        return (read, reader.Error);
    }
}
