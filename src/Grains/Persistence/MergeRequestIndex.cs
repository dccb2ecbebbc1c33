using Marten;
using Orchestrator.Domain;

namespace Orchestrator.Persistence;

/// <summary>One row per merge request the orchestrator knows, for listing; the stream stays the truth, and this row
/// is written in the same commit as the events it reflects, so it is never behind them.</summary>
public sealed class MergeRequestSummary
{
    public string Id { get; set; } = "";
    public long ProjectId { get; set; }
    public long Iid { get; set; }
    public string State { get; set; } = "";
    public int Attempt { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }
    /// <summary>How the current attempt ended ("merged", or why not); null while it is under way.</summary>
    public string? Outcome { get; set; }
    /// <summary>When the current attempt was asked for: the start of its time in the queue.</summary>
    public DateTimeOffset? RequestedAt { get; set; }
    public string? TargetBranch { get; set; }
    /// <summary>When the current attempt reached its outcome; later bookkeeping (its note, a clean-up) moves UpdatedAt, not this.</summary>
    public DateTimeOffset? EndedAt { get; set; }
}

public sealed class MergeRequestIndex(IDocumentStore store)
{
    /// <summary>The summary of a merge request's workflow: a projection of its stream, stored in the commit of the events it reflects.</summary>
    public static MergeRequestSummary Summarize(MergeRequestKey key, MergeRequestWorkflow workflow) => new()
    {
        Id = key.ToString(), ProjectId = key.ProjectId, Iid = key.Iid, State = workflow.State.ToWireName(),
        Attempt = workflow.Attempt, UpdatedAt = workflow.UpdatedAt, Outcome = workflow.Outcome, RequestedAt = workflow.AttemptStartedAt,
        TargetBranch = workflow.TargetBranch,
        // The ending state is the last step: it began when the outcome was decided, and nothing after changes the state.
        EndedAt = workflow.Outcome is null ? null : workflow.StepStartedAt,
    };

    public async Task<(IReadOnlyList<MergeRequestSummary> Page, int Total)> ListAsync(long project, string? state, int page, int perPage, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var query = session.Query<MergeRequestSummary>().Where(s => s.ProjectId == project);
        if (state is not null) query = query.Where(s => s.State == state);
        var total = await query.CountAsync(ct);
        var items = await query.OrderByDescending(s => s.UpdatedAt).Skip((page - 1) * perPage).Take(perPage).ToListAsync(ct);
        return (items, total);
    }

    public static readonly string[] ActiveStates = [.. Enum.GetValues<WorkflowState>().Where(s => s.IsActive()).Select(s => s.ToWireName())];

    /// <summary>
    /// The merge requests whose workflow is under way, in every project, the longest unchanged first. Keys only, read
    /// in one go: a snapshot, so workflows that end meanwhile shift no page and hide no other.
    /// </summary>
    public async Task<IReadOnlyList<MergeRequestKey>> ActiveAsync(CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var ids = await session.Query<MergeRequestSummary>().Where(s => ActiveStates.Contains(s.State))
            .OrderBy(s => s.UpdatedAt).Select(s => s.Id).ToListAsync(ct);
        return [.. ids.Select(MergeRequestKey.Parse)];
    }
}

/// <summary>Which merge request waits on which pipeline, so a pipeline webhook finds its grain.</summary>
public sealed class PipelineWatch
{
    public string Id { get; set; } = "";
    public string MergeRequest { get; set; } = "";
}

public sealed class PipelineWatches(IDocumentStore store) : IPipelineWatches
{
    private static string KeyOf(long project, long pipeline) => $"{project}:{pipeline}";

    public async Task WatchAsync(long project, long pipeline, MergeRequestKey key, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        session.Store(new PipelineWatch { Id = KeyOf(project, pipeline), MergeRequest = key.ToString() });
        await session.SaveChangesAsync(ct);
    }

    public async Task<MergeRequestKey?> FindAsync(long project, long pipeline, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var watch = await session.LoadAsync<PipelineWatch>(KeyOf(project, pipeline), ct);
        return watch is not null && MergeRequestKey.TryParse(watch.MergeRequest, out var key) ? key : null;
    }
}
