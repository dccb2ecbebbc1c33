using System.Text.Json;

namespace Orchestrator.Domain.Trains;

/// <summary>One recorded plan checked twice: were its recorded inputs what the history says, and does today's planner decide the same from them.</summary>
public sealed record ReplayedPlan(int Index, DateTimeOffset At, bool InputsMatch, bool PlanMatches, TrainPlan Recorded, TrainPlan Decided)
{
    public bool Same => InputsMatch && PlanMatches;
}

public sealed record TrainReplayReport(bool Consistent, TrainState State, IReadOnlyList<ReplayedPlan> Plans);

/// <summary>
/// Audit of a branch's train: folds the stream and, at every <see cref="TrainPlanned"/>, rebuilds the snapshot from
/// the state before it (the inputs must be what the history says), then plans again from the recorded snapshot (the
/// verdicts must be what was recorded). The state follows the recorded plans, so each one is judged on what happened.
/// </summary>
public static class TrainReplay
{
    public static TrainReplayReport Run(IReadOnlyList<ITrainEvent> events, Func<TrainSnapshot, TrainPlan>? plan = null) =>
        Continue(events, 0, TrainState.Initial, plan);

    /// <summary>
    /// The audit of <paramref name="events"/> from index <paramref name="from"/> on, the state before it being
    /// <paramref name="before"/> (what an earlier report of the events up to there folded): a train read often audits
    /// only what was appended since.
    /// </summary>
    public static TrainReplayReport Continue(IReadOnlyList<ITrainEvent> events, int from, TrainState before, Func<TrainSnapshot, TrainPlan>? plan = null)
    {
        plan ??= TrainPlanner.Plan;
        var state = before;
        var plans = new List<ReplayedPlan>();
        for (var i = from; i < events.Count; i++)
        {
            if (events[i] is TrainPlanned recorded)
            {
                var inputsMatch = Same(state.IsOpen ? state.Snapshot(recorded.At) : null, recorded.Inputs);
                var decided = plan(recorded.Inputs);
                plans.Add(new ReplayedPlan(i, recorded.At, inputsMatch, Same(decided, recorded.Plan), recorded.Plan, decided));
            }
            state = TrainEvolver.Evolve(state, events[i]);
        }
        return new TrainReplayReport(plans.All(p => p.Same), state, plans);
    }

    // Records holding lists compare them by reference: compare what they serialize to.
    private static bool Same<T>(T? a, T? b) => JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);
}
