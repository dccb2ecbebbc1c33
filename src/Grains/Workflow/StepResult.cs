using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>What one step of the shell produced: a command to decide, a reason to wait, or nothing left to do.</summary>
public abstract record StepResult
{
    public sealed record Decide(WorkflowCommand Command) : StepResult;
    public sealed record Wait(string Why) : StepResult;
    public sealed record Done : StepResult;

    public static StepResult Of(WorkflowCommand command) => new Decide(command);
    public static StepResult Waiting(string why) => new Wait(why);
    public static readonly StepResult Finished = new Done();
}

/// <summary>What a grain activation remembers between steps; lost on restart by design, and every use tolerates that.</summary>
public sealed class StepMemo
{
    public (int Attempt, int Rebase)? RebaseRequested { get; set; }
    public int StillChecking { get; set; }
    public (long Project, string Path)? SourcePath { get; set; }
    /// <summary>For a project with no policy: whether its CI builds images, once per attempt (the queue may poll for long).</summary>
    public (int Attempt, ProjectPolicy? Suggested)? Unchecked { get; set; }
    /// <summary>The same answer that no retry changes, seen in a row by this attempt's step (counted, then decided on).</summary>
    public (int Attempt, WorkflowState State, int Count)? Unhealable { get; set; }
    /// <summary>What the step last waited on or stumbled over since it last made progress, for a deadline's note.</summary>
    public string? LastProblem { get; set; }
}
