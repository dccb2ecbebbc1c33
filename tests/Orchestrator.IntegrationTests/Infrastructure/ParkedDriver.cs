using Orchestrator.Domain;
using Orchestrator.Workflow;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// For hosts with no GitLab to drive (the API's own tests): every workflow waits where it is, so a test sees exactly
/// what the API recorded, and nothing calls out.
/// </summary>
public sealed class ParkedDriver : IWorkflowDriver
{
    public Task<StepResult> StepAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now, StepMemo memo,
        CancellationToken ct = default) => Task.FromResult(StepResult.Waiting("this test host drives no GitLab"));
}
