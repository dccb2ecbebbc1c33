namespace Orchestrator.Domain;

/// <summary>
/// The merge request as GitLab showed it at a checkpoint: only the fields a rule reads, so a decision can be re-checked
/// from the stream without the MR's body. Approvals are GitLab's own count and requirement, null where they were not
/// looked at (a pipeline poll judges only what makes a running pipeline pointless): never read as "none given".
/// </summary>
[GenerateSerializer, Alias("MergeRequestFacts")]
public sealed record MergeRequestFacts(
    [property: Id(0)] string State,
    [property: Id(1)] bool Draft,
    [property: Id(2)] bool HasConflicts,
    [property: Id(3)] bool BlockingDiscussionsResolved,
    [property: Id(4)] bool IsFork,
    [property: Id(5)] bool? AllowCollaboration,
    [property: Id(6)] string? Sha,
    [property: Id(7)] int? ApprovalsGiven,
    [property: Id(8)] int? ApprovalsLeft,
    [property: Id(9)] int? ApprovalsRequired,
    [property: Id(10)] bool? BotAssigned = null,
    [property: Id(11)] bool? TriggerLabelOn = null,
    [property: Id(12)] string? TargetBranch = null)
{
    /// <summary>Whether the approvals were looked at when these facts were gathered.</summary>
    public bool ApprovalsSeen => ApprovalsGiven is not null && ApprovalsLeft is not null && ApprovalsRequired is not null;

    /// <summary>
    /// Why the request no longer stands (null: it does, or nothing standing was asked for, or it was not looked at): an
    /// attempt asked for by assigning the bot or by the trigger label lasts only while the bot is assigned or the label is
    /// on. A withdrawal whose webhook was lost, or an old assignment delivered late, must not merge.
    /// </summary>
    public string? Withdrawn(Requester? requester) => requester?.Trigger switch
    {
        TriggerKind.Assignment or TriggerKind.ReconciledAssignment when BotAssigned == false =>
            "I am no longer assigned to this merge request; assign me again to have it merged",
        TriggerKind.Label or TriggerKind.ReconciledLabel when TriggerLabelOn == false =>
            "the merge label is no longer on this merge request; add it again to have it merged",
        _ => null,
    };

    /// <summary>
    /// Why the attempt's target no longer stands (null: it does, or it was not looked at): a merge request retargeted
    /// while its pipeline runs is tested against the wrong branch, and its request was checked for the old one.
    /// </summary>
    public string? Retargeted(string? pinned) => pinned is not null && TargetBranch is { } now && now != pinned ? RetargetedReason(pinned, now) : null;

    /// <summary>Why an attempt ends when its merge request now targets another branch than the one it was asked for.</summary>
    public static string RetargetedReason(string pinned, string now) =>
        $"The target branch changed from {pinned} to {now} after the merge was asked for; ask again for the new target";
}

/// <summary>
/// The merge request while it is being rebased: its state and head, the base GitLab computed its diff against, the
/// target's head, GitLab's merge error, and whether this attempt asked GitLab for the rebase (an old error is not ours).
/// </summary>
[GenerateSerializer, Alias("RebaseFacts")]
public sealed record RebaseFacts(
    [property: Id(0)] string State,
    [property: Id(1)] string? Sha,
    [property: Id(2)] string? BaseSha,
    [property: Id(3)] string TargetHead,
    [property: Id(4)] string? MergeError,
    [property: Id(5)] bool Requested)
{
    /// <summary>The head sits on the target's head: GitLab's rebase landed, or there was nothing to do.</summary>
    public bool OnTop => Sha is not null && BaseSha == TargetHead;
}
