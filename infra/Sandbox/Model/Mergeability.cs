namespace Sandbox.Model;

/// <summary>What GitLab reports about whether a merge request can merge, computed from real git state.</summary>
public sealed record Mergeability(
    string MergeStatus,
    string DetailedMergeStatus,
    bool HasConflicts,
    bool BlockingDiscussionsResolved,
    int ApprovalsLeft,
    string? Sha,
    string? BaseSha,
    string? StartSha,
    int? ChangesCount)
{
    /// <summary>GitLab's <c>mergeable?</c>: what <c>PUT …/merge</c> requires before it looks at <c>sha</c>.</summary>
    public bool Mergeable => DetailedMergeStatus == "mergeable";
}
