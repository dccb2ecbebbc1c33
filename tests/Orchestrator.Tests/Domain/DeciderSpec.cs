using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.Tests.Domain;

/// <summary>Given a history, when a command arrives, then these events (or this rejection).</summary>
internal sealed class DeciderSpec(IReadOnlyList<IWorkflowEvent> history)
{
    private Decision? decision;

    public static DeciderSpec Given(params IWorkflowEvent[] history) => new(history);

    public MergeRequestWorkflow State => Histories.Fold(history);

    public DeciderSpec When(WorkflowCommand command)
    {
        decision = WorkflowDecider.Decide(command, State);
        return this;
    }

    public MergeRequestWorkflow Then(params IWorkflowEvent[] expected)
    {
        Assert.NotNull(decision);
        Assert.Null(decision.Rejection);
        Assert.Equal(expected.Select(Describe), decision.Events.Select(Describe));
        return decision.Events.Aggregate(State, WorkflowEvolver.Evolve);
    }

    public MergeRequestWorkflow ThenNothing() => Then();

    public Rejection ThenRejected(RejectionKind kind)
    {
        Assert.NotNull(decision);
        Assert.Empty(decision.Events);
        Assert.NotNull(decision.Rejection);
        Assert.Equal(kind, decision.Rejection.Kind);
        Assert.False(string.IsNullOrWhiteSpace(decision.Rejection.Reason));
        return decision.Rejection;
    }

    public IReadOnlyList<IWorkflowEvent> ThenEvents()
    {
        Assert.NotNull(decision);
        Assert.Null(decision.Rejection);
        return decision.Events;
    }

    // Records holding lists compare those lists by reference; compare what they print instead.
    private static string Describe(IWorkflowEvent e) => System.Text.Json.JsonSerializer.Serialize(e, e.GetType());
}
