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
    /// <summary>How the shell's report ends the restore, or null when it is refused.</summary>
    public static TagRestoreOutcome? Judge(TagRestore pending, string? found, string? after) =>
        // Only what was ours to take back: the tampered digest, or what it held before (a repeat after a crash).
        after == pending.Before && (found == pending.Tampered || found == pending.Before) ? TagRestoreOutcome.Restored
        // The digest from before could not be put back: the tag is gone rather than left holding the tampered image.
        : found == pending.Tampered && after is null ? TagRestoreOutcome.Deleted
        // Someone else's push since is not ours to take back, and is left as found.
        : found != pending.Tampered && found != pending.Before && after == found ? TagRestoreOutcome.Left
        : null;

    /// <summary>
    /// New restores added to those still pending; a tag already pending keeps the digest it held before the first
    /// tampering (a later attempt's snapshot saw the tampered digest as "before") and is taken back from the latest.
    /// </summary>
    public static ImmutableList<TagRestore> Add(ImmutableList<TagRestore> pending, IReadOnlyList<TagRestore> added) =>
        added.Aggregate(pending, (list, r) => list.FirstOrDefault(p => p.Repository == r.Repository && p.Tag == r.Tag) is { } first
            ? list.Replace(first, first with { Tampered = r.Tampered })
            : list.Add(r));

    /// <summary>
    /// The shell's report on one restore (<see cref="Judge"/>): holding the digest from before (or gone, if it was absent)
    /// ends it, and so does the tag deleted when that digest could not be put back; a digest pushed since by someone else
    /// is left. Anything else is refused: the tampered digest still there is tried again, and a report that changed
    /// someone else's push is not taken.
    /// </summary>
    internal static Decision Decide(RecordTagRestore c, TagRestore pending, MergeRequestWorkflow state) =>
        Judge(pending, c.Found, c.After) is { } outcome
            ? Decision.Of(new RegistryTagRestored(state.Attempt, c.Repository, c.Tag, c.Found, c.After, outcome, c.At))
            : Decision.Reject(RejectionKind.InvalidInput,
                $"{c.Repository}:{c.Tag} held {c.Found ?? "nothing"} and then {c.After ?? "nothing"}: not the {pending.Before ?? "absence"} it had " +
                $"before our pipeline, nor gone from the tampered {pending.Tampered ?? "absence"}, nor someone else's push left as found; it is tried again");

    /// <summary>The pending restore the report is about, if any.</summary>
    public static TagRestore? Pending(MergeRequestWorkflow state, string repository, string tag) =>
        state.PendingRestores.FirstOrDefault(r => r.Repository == repository && r.Tag == tag);
}

/// <summary>How a tampered tag was taken back.</summary>
[GenerateSerializer, Alias("TagRestoreOutcome")]
public enum TagRestoreOutcome
{
    /// <summary>It holds the digest it held before our pipeline again (or is gone, as it was).</summary>
    Restored = 0,
    /// <summary>The digest from before could not be put back (the registry no longer has it): the tag was deleted instead.</summary>
    Deleted = 1,
    /// <summary>Someone else pushed it since: left as found.</summary>
    Left = 2,
}
