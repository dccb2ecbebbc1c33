namespace Orchestrator.Domain;

public enum PipelineOutcome { Running, Succeeded, Failed, Canceled, Skipped }

/// <summary>GitLab's pipeline statuses, read the way a merge bot must read them.</summary>
public static class PipelineStatus
{
    // Unknown and newer values (canceling, waiting_for_callback, …) count as still running; `manual`
    // too, since a pipeline can sit there forever: the CI timeout ends that wait, not this mapping.
    public static PipelineOutcome Classify(string status) => status switch
    {
        "success" => PipelineOutcome.Succeeded,
        "failed" => PipelineOutcome.Failed,
        "canceled" => PipelineOutcome.Canceled,
        "skipped" => PipelineOutcome.Skipped,
        _ => PipelineOutcome.Running,
    };
}
