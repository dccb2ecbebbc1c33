using static Orchestrator.Domain.WorkflowState;
using D = Orchestrator.Domain.WorkflowDecider;

namespace Orchestrator.Domain;

/// <summary>How a step decides one observation: the command, the state it arrives in, the rule book in force.</summary>
public delegate Decision StepRule(WorkflowCommand command, MergeRequestWorkflow state, WorkflowRules rules);

/// <summary>
/// One step of the merge pipeline, declared once: the state, the observations the shell brings in it with the rule that
/// decides each, and the states that may follow. The decider dispatches through this table, the shell has one observer
/// per row, and a test holds every recorded decision to it. Adding a step is a row here, its observer in the shell.
/// </summary>
public sealed record WorkflowStep(WorkflowState State, IReadOnlyDictionary<Type, StepRule> Rules, IReadOnlyList<WorkflowState> Next)
{
    /// <summary>The commands this step decides itself (the rest fall to the rules that hold anywhere).</summary>
    public IReadOnlyCollection<Type> Observations => (IReadOnlyCollection<Type>)Rules.Keys;
}

public static class WorkflowSteps
{
    /// <summary>What may happen in any active state: someone else merges or cancels, time passes, GitLab refuses, a legacy failure.</summary>
    public static readonly IReadOnlyList<Type> Anywhere =
        [typeof(ObserveMerged), typeof(Cancel), typeof(ObserveClock), typeof(RecordStepError), typeof(Fail), typeof(RecordCheckpoint),
        typeof(ObserveRegistryAfter)];

    /// <summary>Where an attempt may end from any active state.</summary>
    private static readonly WorkflowState[] Ends = [Failed, Cancelled, WorkflowState.MergedElsewhere];

    /// <summary>What the branch's merge train says of the merge request (a car, a new one, the head, a verdict): decided in every step a car lives through.</summary>
    /// <remarks>Declared before <see cref="Table"/>, which reads it while it is built.</remarks>
    private static readonly (Type, StepRule) Train = On<ObserveTrain>((c, s, _) => TrainCarRules.Decide(c, s));

    public static readonly IReadOnlyList<WorkflowStep> Table =
    [
        Step(Queued, [Rebasing, Refused, .. Ends],
            On<StartRebase>((c, s, _) => Decision.Of(new RebaseStarted(s.Attempt, 1, "queue granted the target branch", c.At))),
            On<ObserveTagFiles>((c, s, _) => TrainBumps.Decide(c, s)),
            Train),
        Step(Rebasing, [Checking, .. Ends],
            On<StartRebase>((_, _, _) => Decision.Nothing),
            On<RecordRebase>((c, s, _) => D.DecideRebase(c, s)),
            On<PlanRewrite>((c, s, _) => s.PlannedRewrite is null ? D.DecideRewrite(c, s) : Decision.Nothing),
            On<CheckReapproval>(D.DecideReapproval),
            On<ObserveApprovalReset>(ApprovalResets.Decide),
            On<RecordRewriteFailure>((c, s, _) => D.DecideRewriteFailure(c, s)),
            On<RecordCarNote>((c, s, _) => TrainCarRules.DecideNote(c, s)),
            On<ObserveCarsAhead>(TrainCarsAhead.Decide),
            Train),
        Step(Checking, [Building, Rebasing, .. Ends],
            On<RecordFreshness>(D.DecideFreshness),
            Train),
        Step(Building, [Verifying, Rebasing, .. Ends],
            On<ObserveStaleTags>((c, s, _) => StaleTags.Decide(c, s)),
            On<RecordPipelinePrepared>((c, s, _) => D.DecidePipelinePrepared(c, s)),
            On<RecordPipeline>((c, s, _) => D.DecidePipeline(c, s)),
            On<ObservePipeline>(D.DecideObservation),
            On<TimeOut>((c, s, _) => D.DecideLegacyTimeOut(c, s)),
            On<ObserveCarsAhead>(TrainCarsAhead.Decide),
            On<ObserveCarImages>((c, s, _) => TrainCarImages.DecideSeen(c, s)),
            Train),
        Step(Verifying, [Promoting, Merging, Rebasing, .. Ends],
            On<RecordVerification>(D.DecideVerification),
            Train),
        Step(Promoting, [Merging, .. Ends],
            On<ObserveUpstreamTag>((c, s, _) => D.DecideUpstreamTag(c, s)),
            On<RecordPromotion>((c, s, _) => D.DecidePromotion(c, s))),
        Step(Merging, [Completed, Rebasing, .. Ends],
            On<ObserveEmbargo>(D.DecideEmbargo),
            On<RecordMerge>((c, s, _) => Decision.Of(new Merged(s.Attempt, c.MergeCommitSha, c.At))),
            On<RecordMergeRefusal>(D.DecideMergeRefusal),
            On<ObserveMerged>((c, s, _) => D.DecideMergedWhileMerging(c, s)),
            On<ObserveMergePreview>((c, s, _) => MergeCommitCars.DecidePreview(c, s)),
            Train),
    ];


    public static WorkflowStep? Of(WorkflowState state) => Table.FirstOrDefault(s => s.State == state);

    /// <summary>The rule <paramref name="state"/>'s step decides <paramref name="command"/> with, if it is one of its observations.</summary>
    public static StepRule? RuleFor(WorkflowState state, WorkflowCommand command) =>
        Of(state) is { } step && step.Rules.TryGetValue(command.GetType(), out var rule) ? rule : null;

    /// <summary>Whether a decision in <paramref name="from"/> on <paramref name="command"/> that led to <paramref name="to"/> is one the table allows.</summary>
    public static bool Allows(WorkflowState from, Type command, WorkflowState to) =>
        Of(from) is { } step && (step.Observations.Contains(command) || Anywhere.Contains(command)) && (to == from || step.Next.Contains(to));

    private static WorkflowStep Step(WorkflowState state, WorkflowState[] next, params (Type, StepRule)[] rules) =>
        new(state, rules.ToDictionary(r => r.Item1, r => r.Item2), next);

    private static (Type, StepRule) On<T>(Func<T, MergeRequestWorkflow, WorkflowRules, Decision> decide) where T : WorkflowCommand =>
        (typeof(T), (command, state, rules) => decide((T)command, state, rules));
}
