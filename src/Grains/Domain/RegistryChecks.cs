namespace Orchestrator.Domain;

// A fork merge request's jobs run in the target project with the target's CI token: they can push to its registry and
// then make the pipeline fail, or their owner can push mid-build so that the attempt ends as "someone pushed". So the
// registry is read after every end of a pipeline of ours, not only after a success. Never renumber an [Id] or rename an alias.

/// <summary>
/// A before-snapshot (<see cref="PipelinePrepared"/>) whose after-read is still owed: the attempt and rebase it was taken
/// in, the pipeline it guards (null until recorded), and the images that rebase's pipeline was to build (its expected
/// changes). It outlives its rebase and its attempt: the read is due once either has ended, whatever ended it.
/// </summary>
[GenerateSerializer, Alias("OwedRegistryCheck")]
public sealed record OwedRegistryCheck(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int Rebase,
    [property: Id(2)] long? PipelineId,
    [property: Id(3)] long? PipelineProjectId,
    [property: Id(4)] PipelineGuard Guard,
    [property: Id(5)] IReadOnlyList<ImageState> Images);

/// <summary>
/// The registry read after our pipeline stopped, whatever ended it: GitLab's status of that pipeline when it was read
/// (<c>unseen</c>: GitLab does not show it to the bot, so it ran elsewhere), and what the tags hold now (with, for a train
/// car, what the train says ran beside it).
/// </summary>
public sealed record ObserveRegistryAfter(long? PipelineId, string? PipelineStatus, VerificationEvidence Evidence, DateTimeOffset At)
    : WorkflowCommand(At);

/// <summary>The registry was read after pipeline <paramref name="PipelineId"/> (of <paramref name="OfAttempt"/>, rebase <paramref name="Rebase"/>) had stopped.</summary>
[GenerateSerializer, Alias("RegistryChecked")]
public sealed record RegistryChecked(
    [property: Id(0)] int Attempt,
    [property: Id(1)] int OfAttempt,
    [property: Id(2)] int Rebase,
    [property: Id(3)] long? PipelineId,
    [property: Id(4)] string? PipelineStatus,
    [property: Id(5)] VerificationEvidence Evidence,
    [property: Id(6)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>
/// When the after-read is due and what it decides: tampering is recorded and chosen to be taken back exactly as after a
/// successful pipeline (<see cref="WorkflowDecider"/>'s verification). Until it is recorded no new snapshot is taken and
/// the attempt's finishing does not complete.
/// </summary>
public static class RegistryChecks
{
    /// <summary>The owed read once its rebase or attempt has ended (the success path reads at verification instead).</summary>
    public static OwedRegistryCheck? Due(MergeRequestWorkflow s) =>
        s.RegistryCheck is { } owed && (!s.IsActive || owed.Attempt != s.Attempt || owed.Rebase != s.Rebases) ? owed : null;

    /// <summary>The tags a pipeline of <paramref name="images"/> may change: those it builds, and the stale ones deleted for it to rebuild.</summary>
    public static IEnumerable<(string Repository, string Tag)> Expected(IEnumerable<ImageState> images, PipelineGuard? guard, string upstreamRepository) =>
        images.Where(i => i.Verdict.NeedsRebuild()).Select(i => (Repository: $"{upstreamRepository}/{i.Name}", i.Tag))
            .Concat((guard?.DeletedTags ?? []).Select(t => (Repository: t[..t.LastIndexOf(':')], Tag: t[(t.LastIndexOf(':') + 1)..])));

    /// <summary>
    /// Refused while the pipeline still runs (it may push after the read); otherwise the read is recorded, with
    /// <see cref="RegistryTampered"/> when a tag changed that the pipeline had no business changing.
    /// </summary>
    internal static Decision Decide(ObserveRegistryAfter c, OwedRegistryCheck owed, MergeRequestWorkflow state, WorkflowRules rules)
    {
        if (c.PipelineId != owed.PipelineId)
            return Decision.Reject(RejectionKind.InvalidInput, $"the registry read is owed after pipeline {owed.PipelineId?.ToString() ?? "(none recorded)"}, not {c.PipelineId}");
        if (owed.PipelineId is not null && (c.PipelineStatus is null || (c.PipelineStatus != "unseen" && rules.PipelineOutcome(c.PipelineStatus) == PipelineOutcome.Running)))
            return Decision.Reject(RejectionKind.InvalidInput,
                $"pipeline {owed.PipelineId} is {c.PipelineStatus ?? "of unknown status"}: the registry is read once it has stopped, since it may still push");
        var check = new RegistryChecked(state.Attempt, owed.Attempt, owed.Rebase, owed.PipelineId, c.PipelineStatus, c.Evidence, c.At);
        // As it stood then: the car, head and snapshot of the rebase that ran the pipeline.
        var then = state with { Guard = owed.Guard, Images = [.. owed.Images] };
        // Another car's build beside ours is expected only at a digest the train vouches for; any other change is taken back.
        // A pipeline that did not succeed merges nothing: only what it built under a tag absent before (which the cleanup
        // then deletes) is its business; a tag that held an image before (a stale one no deletion freed, say because a
        // branch names it) is put back, whoever pushed over it.
        var expected = Expected(owed.Images, owed.Guard, c.Evidence.UpstreamRepository)
            .Where(t => !owed.Guard.Before.Any(b => b.Repository == t.Repository && b.Tag == t.Tag && b.Digest is not null))
            .Concat(TrainVouching.Judge(then, c.Evidence).Expected).ToList();
        var (unexpected, restores) = Compare(owed.Guard.Before, c.Evidence, expected, rules);
        return unexpected.Count == 0
            ? Decision.Of(check)
            : Decision.Of(check, new RegistryTampered(state.Attempt, owed.PipelineId ?? 0, unexpected, c.At, restores));
    }

    /// <summary>
    /// The registry before and after a pipeline of ours, besides the <paramref name="expected"/> changes: what it changed
    /// (the alert) and how each is taken back, where a change that only undid another merge request's planting is neither
    /// (<see cref="RegistryGuard.Elsewhere"/>).
    /// </summary>
    public static (IReadOnlyList<string> Changes, IReadOnlyList<TagRestore> Restores) Compare(IReadOnlyList<TagDigest> before,
        VerificationEvidence evidence, IReadOnlyList<(string Repository, string Tag)> expected, WorkflowRules rules)
    {
        var (explained, restores) = RegistryGuard.Elsewhere(RegistryGuard.Unexpected(before, evidence.RegistryAfter, expected), evidence.TamperedElsewhere);
        return (rules.RegistryGuard(before, evidence.RegistryAfter, [.. expected, .. explained]), GuardedWindows.Distrust(restores, evidence.OverlappedBy));
    }

    /// <summary>Why nothing may go on before the owed read is recorded (a new snapshot, the attempt's note), or null.</summary>
    public static string? Blocks(MergeRequestWorkflow s) =>
        Due(s) is { } owed ? $"the registry has not been read after pipeline {owed.PipelineId?.ToString() ?? "(none recorded)"} stopped" : null;
}
