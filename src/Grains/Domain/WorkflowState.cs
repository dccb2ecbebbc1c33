namespace Orchestrator.Domain;

/// <summary>Where an attempt stands. <see cref="None"/> is a merge request the orchestrator never saw.</summary>
[GenerateSerializer, Alias("WorkflowState")]
public enum WorkflowState
{
    None = 0,
    Queued = 1,
    Rebasing = 2,
    Checking = 3,
    Building = 4,
    Verifying = 5,
    Promoting = 6,
    Merging = 7,
    Completed = 8,
    Failed = 9,
    Cancelled = 10,
    /// <summary>The person behind the request may not merge; nothing was done for it.</summary>
    Refused = 11,
    /// <summary>Someone else merged the merge request while an attempt was under way: a success, not ours.</summary>
    MergedElsewhere = 12,
}

public static class WorkflowStateExtensions
{
    public static bool IsActive(this WorkflowState state) =>
        state is not (WorkflowState.None or WorkflowState.Completed or WorkflowState.Failed or WorkflowState.Cancelled or WorkflowState.Refused
        or WorkflowState.MergedElsewhere);

    /// <summary>The wire names of the states an attempt ends in, for clients that read states as the API spells them.</summary>
    public static IReadOnlySet<string> EndedNames { get; } =
        Enum.GetValues<WorkflowState>().Where(s => s != WorkflowState.None && !s.IsActive()).Select(ToWireName).ToHashSet();

    /// <summary>The name the API and the events use: lower case, as in the design.</summary>
    public static string ToWireName(this WorkflowState state) =>
        string.Concat(state.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
