using Orchestrator.Domain;
using Orchestrator.Grains;

namespace Orchestrator.Api.MergeRequests;

public sealed record ImageResponse(string Name, string Tag, string Verdict, string? Digest, bool Promoted);

/// <summary>A merge request's workflow as bots see it.</summary>
public sealed record MergeRequestResponse(
    long ProjectId,
    long Iid,
    string State,
    int Attempt,
    int Version,
    string? RequestedBy,
    string? RebasedSha,
    string? TargetSha,
    long? PipelineId,
    string? PipelineStatus,
    string? MergeCommitSha,
    string? Outcome,
    int Rebases,
    IReadOnlyList<ImageResponse> Images,
    DateTimeOffset? UpdatedAt)
{
    public static MergeRequestResponse From(MergeRequestKey key, WorkflowSnapshot snapshot)
    {
        var w = snapshot.Workflow;
        return new(key.ProjectId, key.Iid, w.State.ToWireName(), w.Attempt, snapshot.Version, w.RequestedBy, w.RebasedSha,
            w.TargetSha, w.PipelineId, w.PipelineStatus, w.MergeCommitSha, w.Outcome, w.Rebases,
            [.. w.Images.Select(i => new ImageResponse(i.Name, i.Tag, i.Verdict.ToString().ToLowerInvariant(), i.Digest, w.IsPromoted(i.Name, i.Tag)))],
            w.UpdatedAt);
    }
}

/// <remarks><paramref name="Sha"/>: the head the caller means (a full commit SHA); a merge request at another head by then is not merged.
/// Without it, the head the orchestrator first sees is the one pinned.</remarks>
public sealed record EnqueueRequest(string? RequestedBy, string? Sha = null);

public sealed record CancelRequest(string? Reason);

public sealed record EventResponse(long Version, string Type, DateTimeOffset At, System.Text.Json.JsonElement Data);

/// <param name="RecordedWith">The rule-book version that made the decision.</param>
/// <param name="Verdict"><c>same</c>; <c>rules_changed</c> (made under older rules); <c>differs</c> (its own rules would not have made it).</param>
public sealed record ReplayDecisionResponse(long Version, string Command, System.Text.Json.JsonElement Inputs,
    IReadOnlyList<string> Recorded, IReadOnlyList<string> Decided, bool Same, int RecordedWith, string Verdict);

/// <summary>
/// Whether today's rules (<paramref name="RulesVersion"/>) decide as the recorded ones did, decision by decision;
/// <paramref name="Unexplained"/> when a difference is not explained by a change of rules.
/// </summary>
public sealed record ReplayResponse(bool Consistent, string State, int Attempt, IReadOnlyList<ReplayDecisionResponse> Decisions,
    int RulesVersion, bool Unexplained);

public sealed record MergeRequestSummaryResponse(long ProjectId, long Iid, string State, int Attempt, DateTimeOffset? UpdatedAt);


/// <summary>A merge request's stream told as steps, for the operations page and for people with curl.</summary>
public sealed record TimelineResponse(long ProjectId, long Iid, IReadOnlyList<TimelineStepResponse> Steps);

public sealed record TimelineStepResponse(int Attempt, string Step, DateTimeOffset Started, DateTimeOffset? Ended, double? Seconds, IReadOnlyList<TimelineEntry> Entries);
