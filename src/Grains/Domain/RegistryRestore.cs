using System.Collections.Immutable;

namespace Orchestrator.Domain;

/// <summary>
/// Tampering is undone: every tag our pipeline changed without business to is taken back, after the attempt, to what it
/// held before our pipeline (<see cref="RegistryGuard.Unexpected"/>), a tag main uses included. The decider chose each
/// restore with the evidence (<see cref="RegistryTampered.Restores"/>); the shell looks each tag up, acts only while it
/// holds the tampered digest, and reports what it found and left.
/// </summary>
public static class RegistryRestores
{
    /// <summary>
    /// New restores added to those still pending; a tag already pending keeps the digest it held before the first
    /// tampering (a later attempt's snapshot saw the tampered digest as "before") and is taken back from the latest.
    /// </summary>
    public static ImmutableList<TagRestore> Add(ImmutableList<TagRestore> pending, IReadOnlyList<TagRestore> added) =>
        added.Aggregate(pending, (list, r) => list.FirstOrDefault(p => p.Repository == r.Repository && p.Tag == r.Tag) is { } first
            ? list.Replace(first, first with { Tampered = r.Tampered })
            : list.Add(r));

    /// <summary>
    /// The shell's report on one restore: holding the digest from before (or gone, if it was absent) ends it; a digest
    /// that is neither the tampered one nor the one from before, found there, was pushed since by someone else and is
    /// left (recorded as not restored); the tampered digest still there afterwards is refused, and tried again.
    /// </summary>
    internal static Decision Decide(RecordTagRestore c, TagRestore pending, MergeRequestWorkflow state)
    {
        // Someone else's push since is not ours to take back: a report that changed it is refused.
        if (c.Found != pending.Tampered && c.Found != pending.Before && c.After != c.Found)
            return Decision.Reject(RejectionKind.InvalidInput,
                $"{c.Repository}:{c.Tag} held {c.Found ?? "nothing"}, neither what it held before our pipeline nor the tampered digest, and was changed all the same");
        var restored = c.After == pending.Before;
        if (!restored && c.Found == pending.Tampered)
            return Decision.Reject(RejectionKind.InvalidInput,
                $"{c.Repository}:{c.Tag} holds {c.After ?? "nothing"}, not the {pending.Before ?? "absence"} it had before our pipeline; it is tried again");
        return Decision.Of(new RegistryTagRestored(state.Attempt, c.Repository, c.Tag, c.Found, c.After, restored, c.At));
    }

    /// <summary>The pending restore the report is about, if any.</summary>
    public static TagRestore? Pending(MergeRequestWorkflow state, string repository, string tag) =>
        state.PendingRestores.FirstOrDefault(r => r.Repository == repository && r.Tag == tag);
}
