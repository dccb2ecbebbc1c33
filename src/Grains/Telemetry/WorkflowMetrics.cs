using Orchestrator.Domain;

namespace Orchestrator.Telemetry;

/// <summary>What a recorded decision tells the meters: step durations, outcomes, forced rebuilds, promotions, tampering.</summary>
public static class WorkflowMetrics
{
    public static void Record(MergeRequestWorkflow before, MergeRequestWorkflow after, IReadOnlyList<IWorkflowEvent> events)
    {
        if (before.State != after.State && before.IsActive && (before.StepStartedAt ?? before.UpdatedAt) is { } entered && after.UpdatedAt is { } left)
            OrchestratorTelemetry.StepDuration.Record((left - entered).TotalSeconds, new KeyValuePair<string, object?>("step", before.State.ToWireName()));
        if (before.IsActive && !after.IsActive)
            OrchestratorTelemetry.Workflows.Add(1, new KeyValuePair<string, object?>("outcome", after.State.ToWireName()));
        foreach (var e in events)
        {
            if (e is PipelineCreated && after.Images.Any(i => i.Verdict.NeedsRebuild())) OrchestratorTelemetry.ForcedRebuilds.Add(1);
            if (e is ImagePromoted) OrchestratorTelemetry.Promotions.Add(1);
            if (e is RegistryTampered t) OrchestratorTelemetry.RegistryTampering.Add(t.Changes.Count);
        }
    }
}
