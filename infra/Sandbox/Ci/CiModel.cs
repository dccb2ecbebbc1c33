using System.Text;

namespace Sandbox.Ci;

public sealed class Pipeline
{
    public required long Id { get; init; }
    public required long Iid { get; init; }
    public required long ProjectId { get; init; }
    public required string Sha { get; init; }
    public required string BeforeSha { get; init; }
    public required string Ref { get; init; }
    public required string Source { get; init; }
    public required long UserId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>The merge request of a <c>merge_request_event</c> pipeline, which may run in its target or its source project.</summary>
    public Model.MergeRequest? MergeRequest { get; init; }
    public required Git.CommitInfo Commit { get; init; }
    public string Status { get; set; } = "created";
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? YamlErrors { get; set; }
    public List<KeyValuePair<string, string>> Variables { get; init; } = [];
    public List<Job> Jobs { get; } = [];
    public CancellationTokenSource Cancellation { get; set; } = new();
}

public sealed class Job
{
    public required long Id { get; init; }
    public required string Name { get; init; }
    public required string Stage { get; init; }
    public required Pipeline Pipeline { get; init; }
    public required JobSpec Spec { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string Status { get; set; } = "created";
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? FailureReason { get; set; }
    public long UserId { get; init; }
    public StringBuilder Trace { get; } = new();
    public bool AllowFailure => Spec.AllowFailure;

    /// <summary>A line of the script's (or the emulated tool's) own output.</summary>
    public void Log(string line) => Write(line + "\n");

    /// <summary>Raw bytes of the trace, as the runner sends them (section markers carry no newline).</summary>
    public void Write(string raw)
    {
        lock (Trace) Trace.Append(raw);
    }
}

/// <summary>A job as <c>.gitlab-ci.yml</c> defines it after <c>extends</c> and <c>include</c> are resolved.</summary>
public sealed record JobSpec(
    string Name,
    string Stage,
    IReadOnlyList<string> Script,
    IReadOnlyDictionary<string, string> Variables,
    IReadOnlyList<string>? Needs,
    string? Image,
    string When,
    bool AllowFailure,
    string? Builtin);

public sealed record PipelineSpec(IReadOnlyList<string> Stages, IReadOnlyDictionary<string, string> Variables, IReadOnlyList<JobSpec> Jobs);

public static class CiStatus
{
    public static bool IsFinished(string status) => status is "success" or "failed" or "canceled" or "skipped";
}
