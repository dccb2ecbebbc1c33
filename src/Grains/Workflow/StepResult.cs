using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>What one step of the shell produced: a command to decide, a reason to wait, or nothing left to do.</summary>
public abstract record StepResult
{
    public sealed record Decide(WorkflowCommand Command) : StepResult;
    /// <remarks><paramref name="LookAgain"/>: what it waits on settles within seconds (GitLab's mergeability check), so look again then rather than at the next poll.</remarks>
    public sealed record Wait(string Why, TimeSpan? LookAgain = null) : StepResult;
    public sealed record Done : StepResult;

    public static StepResult Of(WorkflowCommand command) => new Decide(command);
    public static StepResult Waiting(string why) => new Wait(why);
    public static StepResult WaitingBriefly(string why) => new Wait(why, TimeSpan.FromSeconds(1));
    public static readonly StepResult Finished = new Done();
}

/// <summary>What a grain activation remembers between steps; lost on restart by design, and every use tolerates that.</summary>
public sealed class StepMemo
{
    public (int Attempt, int Rebase)? RebaseRequested { get; set; }
    public (long Project, string Path)? SourcePath { get; set; }
    /// <summary>The target project's merge method, read once per activation while the merge request waits for a car.</summary>
    public (long Project, string? Method)? MergeMethod { get; set; }
    /// <summary>What the step last waited on or stumbled over since it last made progress, for a deadline's note.</summary>
    public string? LastProblem { get; set; }
}
