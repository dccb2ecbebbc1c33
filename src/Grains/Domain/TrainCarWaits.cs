namespace Orchestrator.Domain;

/// <summary>What a merge request riding a train waits for right now, in the words the operations page shows.</summary>
public static class TrainCarWaits
{
    public static string Of(MergeRequestWorkflow s) => s switch
    {
        { IsActive: false } => $"nothing: {s.State.ToWireName()}",
        { Car: null } => "a car: the train has none for it yet",
        { Car.CarId: null } => "another car: its car was stopped",
        { Car.OntoSha: null } => "the car ahead to push its head",
        { State: WorkflowState.Rebasing } => "its rebase onto the head of the car ahead",
        { State: WorkflowState.Building, PipelineStatus: { } status } when PipelineStatus.Classify(status) is PipelineOutcome.Failed =>
            $"the train's verdict: pipeline {s.PipelineId} failed, which counts once every car ahead has landed",
        { State: WorkflowState.Checking or WorkflowState.Building or WorkflowState.Verifying } =>
            s.PipelineId is { } pipeline ? $"pipeline {pipeline}" : "its pipeline to be created",
        { State: WorkflowState.Merging, Car: { AtHead: false } car } when car.Ahead.Count > 0 =>
            "the cars ahead to land: " + string.Join(", ", car.Ahead.Select(i => $"!{i}")),
        { State: WorkflowState.Merging } => "GitLab's merge",
        _ => s.State.ToWireName(),
    };
}
