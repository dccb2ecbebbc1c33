using System.Diagnostics;
using Orchestrator.Domain;

namespace Orchestrator.Telemetry;

/// <summary>The spans of a merge request's workflow, each in its attempt's trace and tagged the same way.</summary>
public static class WorkflowActivities
{
    /// <summary>One step of the shell: the effect the state calls for.</summary>
    public static Activity? Step(MergeRequestKey key, MergeRequestWorkflow state) => !Traced ? null :
        Tagged(OrchestratorTelemetry.Source.StartActivity($"step {state.State.ToWireName()}", ActivityKind.Internal,
            OrchestratorTelemetry.AttemptContext(key.ToString(), state.Attempt)), key, state.Attempt)
        ?.SetTag("orchestrator.step", state.State.ToWireName());

    /// <summary>One decision, linked to whatever called (a webhook's request, an API call).</summary>
    public static Activity? Decision(MergeRequestKey key, WorkflowCommand command, MergeRequestWorkflow state) => !Traced ? null :
        Tagged(OrchestratorTelemetry.Source.StartActivity($"decide {command.GetType().Name}", ActivityKind.Internal,
            OrchestratorTelemetry.AttemptContext(key.ToString(), state.AttemptFor(command)),
            links: Activity.Current is { } caller ? [new ActivityLink(caller.Context)] : null), key, state.Attempt);

    // Nobody listens unless spans are exported: then the attempt's trace id (a hash) and the span's name are not made.
    private static bool Traced => OrchestratorTelemetry.Source.HasListeners();

    private static Activity? Tagged(Activity? activity, MergeRequestKey key, int attempt) => activity
        ?.SetTag("gitlab.project_id", key.ProjectId)
        .SetTag("gitlab.merge_request_iid", key.Iid)
        .SetTag("orchestrator.attempt", attempt);
}
