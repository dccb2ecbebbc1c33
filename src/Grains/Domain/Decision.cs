namespace Orchestrator.Domain;

[GenerateSerializer, Alias("RejectionKind")]
public enum RejectionKind
{
    /// <summary>The command contradicts what happened (e.g. enqueue after the merge): HTTP 409.</summary>
    Conflict = 0,
    /// <summary>The command does not fit the workflow's current state: HTTP 409.</summary>
    InvalidState = 1,
    /// <summary>The command's inputs are inconsistent with the recorded facts: HTTP 422.</summary>
    InvalidInput = 2,
}

[GenerateSerializer, Alias("Rejection")]
public sealed record Rejection([property: Id(0)] RejectionKind Kind, [property: Id(1)] string Reason);

/// <summary>What <see cref="WorkflowDecider.Decide(WorkflowCommand, MergeRequestWorkflow)"/> concluded: events to record, none (a repeat), or a rejection.</summary>
public sealed record Decision(IReadOnlyList<IWorkflowEvent> Events, Rejection? Rejection)
{
    public static readonly Decision Nothing = new([], null);

    public bool IsRejected => Rejection is not null;

    public static Decision Of(params IWorkflowEvent[] events) => new(events, null);

    public static Decision Reject(RejectionKind kind, string reason) => new([], new Rejection(kind, reason));
}
