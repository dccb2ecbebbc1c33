namespace Orchestrator.Domain;

/// <summary>Where a merge request stands in its branch's queue: by when the merge was asked for, or when the MR was created.</summary>
public static class MergeOrder
{
    public const string AssignedAt = "assigned_at", CreatedAt = "created_at";

    public static DateTimeOffset PlaceOf(string order, DateTimeOffset? createdAt, DateTimeOffset? askedAt, DateTimeOffset now) =>
        order == CreatedAt ? createdAt ?? now : askedAt ?? now;
}
