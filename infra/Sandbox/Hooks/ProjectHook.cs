namespace Sandbox.Hooks;

public sealed class ProjectHook
{
    public required long Id { get; init; }
    public required long ProjectId { get; init; }
    public required string Uuid { get; init; }
    public required string Url { get; set; }
    public string? Token { get; set; }
    public bool PushEvents { get; set; } = true;
    public bool MergeRequestsEvents { get; set; }
    public bool PipelineEvents { get; set; }
    public bool JobEvents { get; set; }
    public bool NoteEvents { get; set; }
    public bool TagPushEvents { get; set; }
    public bool EnableSslVerification { get; set; } = true;
    public required DateTimeOffset CreatedAt { get; init; }

    // GitLab disables a hook after 4 consecutive failures: for good after a 4xx, for a while after 5xx/timeouts.
    public int RecentFailures { get; set; }
    public DateTimeOffset? DisabledUntil { get; set; }
    public bool PermanentlyDisabled { get; set; }
    public string AlertStatus => PermanentlyDisabled ? "disabled" : DisabledUntil is not null ? "temporarily_disabled" : "executable";

    public bool Wants(string eventName) => eventName switch
    {
        "Push Hook" => PushEvents,
        "Tag Push Hook" => TagPushEvents,
        "Merge Request Hook" => MergeRequestsEvents,
        "Pipeline Hook" => PipelineEvents,
        "Job Hook" => JobEvents,
        "Note Hook" => NoteEvents,
        _ => false,
    };
}

/// <summary>One event for one hook; its Idempotency-Key and event UUID stay the same across retries.</summary>
public sealed record Delivery(ProjectHook Hook, string EventName, string Body, string EventUuid, string IdempotencyKey)
{
    public int Attempt { get; init; }
}
