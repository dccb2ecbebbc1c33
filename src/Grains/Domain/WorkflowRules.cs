namespace Orchestrator.Domain;

/// <summary>
/// Every rule the decider applies, each a pure function with a name, so that an audit (or a test) can replace one at
/// a time and see exactly which recorded decisions it made. <see cref="Current"/> is the rule book in force; its
/// <see cref="Version"/> is recorded with every decision, so a replay can tell "the rules changed since" from tampering.
/// </summary>
public sealed record WorkflowRules(
    IReadOnlyList<Precondition> Preconditions,
    Func<Requester?, PermissionObservation?, IReadOnlyList<string>, DateTimeOffset, PermissionVerdict> MayMerge,
    Func<ImageObservation, ImageAssessment> Freshness,
    Func<int, MergeRefusalFacts, string, string, MergeRefusal> ClassifyRefusal,
    Func<TimeSpan, int, bool> StepOverdue,
    Func<TimeSpan, int, bool> CiOverdue,
    Func<IReadOnlyList<TagDigest>, IReadOnlyList<TagDigest>, IReadOnlyCollection<(string Repository, string Tag)>, IReadOnlyList<string>> RegistryGuard,
    Func<string, PipelineOutcome> PipelineOutcome,
    Func<string, int, bool> Unhealable,
    Func<IReadOnlyList<EmbargoWindow>?, DateTimeOffset, DateTimeOffset?> Embargo,
    Func<IReadOnlyList<PlannedApprover>, ReapprovalFacts, DateTimeOffset, ReapprovalVerdict> Reapproval,
    Func<INamedImage, CleanupObservation, CleanupChoice> Cleanup,
    Func<TimeSpan, int, bool> ApprovalsKept)
{
    /// <summary>How many refusals that no retry heals a step takes (GitLab may be mid-change) before the attempt ends.</summary>
    public const int UnhealableLimit = 3;

    /// <summary>Raised whenever a rule changes what it decides, so replays of older decisions say so.</summary>
    /// <remarks>
    /// 8: the source branch must have been read before a rewrite, and a fork's branch needs allow_collaboration; an image is
    /// fresh only where no fork pipeline runs; GitLab's rebase must have rewritten the head the attempt stands for; the registry
    /// is read after every end of a guarded pipeline (registry_checked), not only a success.
    /// 9: after a pipeline that did not succeed, a rebuilt tag that held an image before is taken back too.
    /// </remarks>
    public const int Version = 9;

    /// <summary>How a decision names the rule book it was made with, stored beside its events.</summary>
    public static readonly string Tag = $"rules/{Version}";

    /// <summary>The rule-book version a stored tag names, or null when the event predates tags (or names none).</summary>
    public static int? VersionOf(string? tag) =>
        tag is not null && tag.StartsWith("rules/", StringComparison.Ordinal) && int.TryParse(tag.AsSpan(6), out var v) ? v : null;

    private static bool Beyond(TimeSpan waited, int minutes) => waited > TimeSpan.FromMinutes(minutes);

    public static readonly WorkflowRules Current = new(
        Domain.Preconditions.All,
        MergePermission.Evaluate,
        Domain.Freshness.Assess,
        MergeRefusals.Classify,
        Beyond,
        Beyond,
        Domain.RegistryGuard.UnexpectedChanges,
        PipelineStatus.Classify,
        // 5xx, timeouts, 429 (Retry-After) and a 409 race heal by retrying; these never do.
        (source, status) => source == "gitlab" ? status is 400 or 403 or 404 or 405 or 422 : status is 400 or 403 or 404,
        Embargoes.Until,
        Reapprovals.Judge,
        UpstreamCleanups.Choose,
        // GitLab's delayed removal of approvals after a push: still listed once the wait (in seconds) has passed means kept.
        (waited, seconds) => waited >= TimeSpan.FromSeconds(seconds));
}
