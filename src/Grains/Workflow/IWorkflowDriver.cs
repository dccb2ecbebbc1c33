using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>
/// The shell a merge request's grain drives its workflow through: for the workflow's state, one observation of GitLab,
/// the registry or git (and the effect that state calls for), returned as the command recording what it saw.
/// </summary>
public interface IWorkflowDriver
{
    /// <summary>Whether there is anything to drive with; false: workflows are recorded and wait, with no polling and no reminders.</summary>
    bool Drives { get; }

    Task<StepResult> StepAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now, StepMemo memo,
        CancellationToken ct = default);
}

/// <summary>
/// The driver of a silo with no GitLab configured: requests are recorded and wait where they are (the API on its own,
/// and the webhook intake's measurements, whose path must end where the facts are stored).
/// </summary>
public sealed class ParkedDriver : IWorkflowDriver
{
    public bool Drives => false;

    public Task<StepResult> StepAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now, StepMemo memo,
        CancellationToken ct = default) => Task.FromResult(StepResult.Waiting("no GitLab is configured"));
}
