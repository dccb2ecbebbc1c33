using Orchestrator.Domain;

namespace Orchestrator.Grains;

/// <summary>
/// JournaledGrain wants a mutable state object; this box holds the immutable workflow so the fold
/// stays the pure <see cref="WorkflowEvolver.Evolve"/>.
/// </summary>
[GenerateSerializer, Alias("WorkflowJournalState")]
public sealed class WorkflowJournalState
{
    [Id(0)] public MergeRequestWorkflow Current { get; set; } = MergeRequestWorkflow.Initial;
}
