namespace Orchestrator.Domain;

/// <summary>
/// How a refused <c>PUT …/merge</c> is read. GitLab checks 401 → 405 → 422 → 409, so a stale
/// <c>sha</c> may surface as 405 or 422 before 409: the shell looks at the MR and the target after the refusal
/// (<see cref="MergeRefusalFacts"/>) and the decider classifies (<see cref="MergeRefusals.Classify"/>).
/// </summary>
[GenerateSerializer, Alias("MergeRefusal")]
public enum MergeRefusal
{
    /// <summary>GitLab is still computing mergeability (<c>checking</c>/<c>unchecked</c>): try again.</summary>
    StillChecking = 0,
    /// <summary>The target branch moved: rebase again.</summary>
    TargetMoved = 1,
    /// <summary>Someone pushed to the source branch: our verification no longer holds.</summary>
    SourceChanged = 2,
    /// <summary>Draft, closed, conflicts, discussions, approvals, permissions: a person must act.</summary>
    NotMergeable = 3,
}

/// <summary>What GitLab showed right after refusing the merge: the MR's head and mergeability, and the target's head.</summary>
[GenerateSerializer, Alias("MergeRefusalFacts")]
public sealed record MergeRefusalFacts(
    [property: Id(0)] string? Sha,
    [property: Id(1)] string? TargetHead,
    [property: Id(2)] string? DetailedMergeStatus);

public static class MergeRefusals
{
    /// <summary>The refusal's class, from GitLab's status code, what it showed afterwards, and the SHAs the attempt merges.</summary>
    public static MergeRefusal Classify(int status, MergeRefusalFacts after, string rebasedSha, string targetSha) =>
        after.Sha != rebasedSha || status == 409 ? MergeRefusal.SourceChanged
        : after.TargetHead != targetSha ? MergeRefusal.TargetMoved
        : after.DetailedMergeStatus is "checking" or "unchecked" ? MergeRefusal.StillChecking
        : MergeRefusal.NotMergeable;
}
