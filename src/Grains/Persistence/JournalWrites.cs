using Orchestrator.Domain;

namespace Orchestrator.Persistence;

/// <summary>
/// One write for the journal's group commit. <see cref="Delivery"/> is the GitLab delivery (Idempotency-Key) that
/// caused it, remembered for <see cref="Stream"/> in the same transaction as the events it caused: a delivery is
/// applied once per stream it touches, and remembering it can never lag behind what it did.
/// </summary>
public abstract record JournalWrite(string? Delivery, string Stream);

/// <summary>Events for a merge request's stream at the version it was read at, with its summary as of after them.</summary>
public sealed record StreamAppend(MergeRequestKey Key, int ExpectedVersion, IReadOnlyList<IWorkflowEvent> Events,
    string? Delivery = null, MergeRequestSummary? Summary = null) : JournalWrite(Delivery, Key.StreamKey);

/// <summary>A delivery that caused no event (ignored, a poke, nothing new), for <paramref name="Stream"/> ("" for none).</summary>
public sealed record DeliveryOnly(string Key, string Stream) : JournalWrite(Key, Stream);

public enum WriteOutcome
{
    Written,
    /// <summary>The stream moved past the expected version: someone else appended first.</summary>
    Conflict,
    /// <summary>The delivery was already applied to this stream (or recorded as touching none): nothing was written.</summary>
    Duplicate,
}
