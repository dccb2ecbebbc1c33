using static Orchestrator.Domain.WorkflowState;

namespace Orchestrator.Domain;

/// <summary>
/// One step of the merge pipeline, declared once: the state, the observations the shell brings in it (the commands
/// that may change it), and the states that may follow. The decider's rules, the shell's observers and the tests all
/// read this table; adding a step is a row here, its observer in the shell and its rule in the decider.
/// </summary>
public sealed record WorkflowStep(WorkflowState State, IReadOnlyList<Type> Observations, IReadOnlyList<WorkflowState> Next);

public static class WorkflowSteps
{
    /// <summary>What may happen in any active state: someone else merges or cancels, time passes, GitLab refuses, a legacy failure.</summary>
    public static readonly IReadOnlyList<Type> Anywhere =
        [typeof(ObserveMerged), typeof(Cancel), typeof(ObserveClock), typeof(RecordStepError), typeof(Fail), typeof(RecordCheckpoint)];

    /// <summary>Where an attempt may end from any active state.</summary>
    private static readonly WorkflowState[] Ends = [Failed, Cancelled, WorkflowState.MergedElsewhere];

    public static readonly IReadOnlyList<WorkflowStep> Table =
    [
        new(Queued, [typeof(StartRebase)], [Rebasing, Refused, .. Ends]),
        new(Rebasing, [typeof(RecordRebase), typeof(PlanRewrite), typeof(CheckReapproval), typeof(RecordRewriteFailure)], [Checking, .. Ends]),
        new(Checking, [typeof(RecordFreshness)], [Building, .. Ends]),
        new(Building, [typeof(RecordPipelinePrepared), typeof(RecordPipeline), typeof(ObservePipeline), typeof(TimeOut)], [Verifying, .. Ends]),
        new(Verifying, [typeof(RecordVerification)], [Promoting, Merging, Rebasing, .. Ends]),
        new(Promoting, [typeof(RecordPromotion)], [Merging, .. Ends]),
        new(Merging, [typeof(ObserveEmbargo), typeof(RecordMerge), typeof(RecordMergeRefusal)], [Completed, Rebasing, .. Ends]),
    ];

    public static WorkflowStep? Of(WorkflowState state) => Table.FirstOrDefault(s => s.State == state);

    /// <summary>Whether a decision in <paramref name="from"/> on <paramref name="command"/> that led to <paramref name="to"/> is one the table allows.</summary>
    public static bool Allows(WorkflowState from, Type command, WorkflowState to) =>
        Of(from) is { } step && (step.Observations.Contains(command) || Anywhere.Contains(command)) && (to == from || step.Next.Contains(to));
}
