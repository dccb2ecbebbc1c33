using Orchestrator.Api.Queues;

namespace Orchestrator.Api.Operations;

/// <param name="Title">The MR's title on GitLab, null until it has been read (the page shows the iid meanwhile).</param>
/// <param name="InQueueSeconds">From the request to the outcome, or to now while the attempt is under way.</param>
public sealed record QueueMemberResponse(long Iid, string State, int Attempt, DateTimeOffset? UpdatedAt, string? Title = null, string? WebUrl = null,
    DateTimeOffset? RequestedAt = null, double? InQueueSeconds = null);

/// <param name="EmbargoedUntil">When the project's embargo window that holds now ends; null outside any window.</param>
public sealed record QueueOverviewResponse(long ProjectId, string TargetBranch, QueueMemberResponse? Holder, IReadOnlyList<QueueMemberResponse> Waiting,
    string? ProjectPath = null, string? ProjectWebUrl = null, QueuePauseResponse? Paused = null, DateTimeOffset? EmbargoedUntil = null);

/// <param name="Outcome">How the attempt ended: "merged", or the reason it did not; null while it is under way.</param>
public sealed record RecentMergeRequestResponse(long ProjectId, long Iid, string State, int Attempt, DateTimeOffset? UpdatedAt,
    string? ProjectPath = null, string? ProjectWebUrl = null, string? Title = null, string? WebUrl = null, string? TargetBranch = null,
    string? Outcome = null, DateTimeOffset? RequestedAt = null, double? InQueueSeconds = null);

public sealed record GrainCountResponse(string GrainType, int Activations);

public sealed record ClusterResponse(int Silos, int Activations, IReadOnlyList<GrainCountResponse> Grains);

/// <param name="Trains">The merge trains of branches where a workflow is under way, in projects whose policy runs trains.</param>
public sealed record OverviewResponse(DateTimeOffset At, IReadOnlyList<QueueOverviewResponse> Queues, IReadOnlyList<RecentMergeRequestResponse> MergeRequests,
    IReadOnlyList<TrainOverviewResponse> Trains);

/// <summary>A train on the operations page: the API's train, with its project's path and each car's title and link.</summary>
public sealed record TrainOverviewResponse(long ProjectId, string Branch, string? ProjectPath, string? ProjectWebUrl, TrainResponse Train);
