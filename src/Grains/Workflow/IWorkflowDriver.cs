using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>
/// The shell a merge request's grain drives its workflow through: for the workflow's state, one observation of GitLab,
/// the registry or git (and the effect that state calls for), returned as the command recording what it saw.
/// </summary>
public interface IWorkflowDriver
{
    Task<StepResult> StepAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now, StepMemo memo,
        CancellationToken ct = default);
}
