namespace Orchestrator.Domain;

/// <summary>
/// How a refused <c>PUT …/merge</c> is read. GitLab checks 401 → 405 → 422 → 409, so a stale
/// <c>sha</c> may surface as 405 or 422 before 409: the caller classifies with what it saw
/// (source and target HEADs, <c>detailed_merge_status</c>) and the decider acts on the class.
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
