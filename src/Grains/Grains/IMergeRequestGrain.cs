using Orchestrator.Domain;
using Orchestrator.Persistence;

namespace Orchestrator.Grains;

/// <summary>
/// One GitLab merge request's merge workflow, keyed by <see cref="MergeRequestKey"/> (<c>projectId/iid</c>).
/// Its state is the fold of its Marten event stream; every call that changes it appends events first.
/// </summary>
[Alias("IMergeRequestGrain")]
public interface IMergeRequestGrain : IGrainWithStringKey
{
    /// <summary>
    /// Asks for the merge request to be merged for <paramref name="requester"/>. While an attempt is active this returns
    /// it unchanged; after a failed, cancelled or refused attempt it starts the next; after a merge it is rejected (conflict).
    /// Whether the requester may merge is checked by the workflow, with GitLab, before the bot does anything for them.
    /// </summary>
    /// <remarks><paramref name="delivery"/>: the GitLab delivery that asks, recorded with the events it causes; asked again, it is a duplicate.
    /// <paramref name="head"/>: the head the requester saw, where the trigger carried one; null pins the one the request's check sees.</remarks>
    [Alias("Enqueue")]
    Task<CommandOutcome> Enqueue(Requester requester, string? delivery = null, RequestedHead? head = null);

    /// <summary>Cancels the active attempt. Cancelling a cancelled attempt changes nothing.</summary>
    [Alias("Cancel")]
    Task<CommandOutcome> Cancel(string cancelledBy, string reason, string? delivery = null);

    /// <summary>The current state and the stream version it was folded from.</summary>
    [Alias("GetSnapshot")]
    Task<WorkflowSnapshot> GetSnapshot();

    /// <summary>The stream as stored, oldest first.</summary>
    [Alias("GetEvents")]
    Task<IReadOnlyList<RecordedEvent>> GetEvents();

    /// <summary>The stream told as steps for people: durations, verdicts, pipelines, digests.</summary>
    [Alias("GetTimeline")]
    Task<IReadOnlyList<TimelineStep>> GetTimeline();

    /// <summary>Re-runs every recorded decision on its recorded inputs (audit).</summary>
    [Alias("Replay")]
    Task<ReplayView> Replay();

    /// <summary>
    /// A pipeline's status as seen elsewhere (a webhook, an operator): recorded if it is news about the pipeline
    /// this attempt waits on, ignored otherwise; then the workflow moves on at once.
    /// </summary>
    [Alias("ObservePipeline")]
    Task<CommandOutcome> ObservePipeline(long pipelineId, string status, string? delivery = null);

    /// <summary>Looks at GitLab now instead of at the next poll (webhooks call this when something changed).</summary>
    [Alias("Poke")]
    Task Poke();
}

/// <summary>A state and the version of the stream it reflects.</summary>
// Immutable: the grain answers with its state, which it never changes but replaces (records folded by the evolver), so the
// answer needs no deep copy on its way to a caller in the same process (the webhook intake's every delivery).
[GenerateSerializer, Immutable, Alias("WorkflowSnapshot")]
public sealed record WorkflowSnapshot([property: Id(0)] int Version, [property: Id(1)] MergeRequestWorkflow Workflow);

/// <summary>
/// What a command did: the state afterwards, whether it recorded anything, or why it was refused; <see cref="Duplicate"/>
/// when its delivery had already been applied to this merge request (nothing was recorded).
/// </summary>
[GenerateSerializer, Immutable, Alias("CommandOutcome")]
public sealed record CommandOutcome(
    [property: Id(0)] WorkflowSnapshot Snapshot,
    [property: Id(1)] int EventsRecorded,
    [property: Id(2)] Rejection? Rejection,
    [property: Id(3)] bool Duplicate = false);

/// <summary>A replayed decision as the audit shows it: the command, its recorded inputs, and what was and would be decided.</summary>
[GenerateSerializer, Alias("ReplayedDecisionView")]
public sealed record ReplayedDecisionView(
    [property: Id(0)] long Version,
    [property: Id(1)] string Command,
    [property: Id(2)] string Inputs,
    [property: Id(3)] IReadOnlyList<string> Recorded,
    [property: Id(4)] IReadOnlyList<string> Decided,
    [property: Id(5)] bool Same,
    [property: Id(6)] int RecordedWith = 0,
    [property: Id(7)] string Verdict = "same");

[GenerateSerializer, Alias("ReplayView")]
public sealed record ReplayView(
    [property: Id(0)] bool Consistent,
    [property: Id(1)] string State,
    [property: Id(2)] int Attempt,
    [property: Id(3)] IReadOnlyList<ReplayedDecisionView> Decisions,
    [property: Id(4)] int RulesVersion = 0,
    [property: Id(5)] bool Unexplained = false);
