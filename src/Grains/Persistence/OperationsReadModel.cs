using Marten;
using Orchestrator.Grains;

namespace Orchestrator.Persistence;

/// <summary>A queue as the operations page shows it: who holds the branch and who waits, with their states.</summary>
public sealed record QueueOverview(long ProjectId, string TargetBranch, MergeRequestSummary? Holder, IReadOnlyList<MergeRequestSummary> Waiting);

/// <summary>
/// Reads for the operations page from the documents the grains already keep (queues, the MR index), so looking
/// at the page activates no grain and never waits on a busy one.
/// </summary>
public sealed class OperationsReadModel(IDocumentStore store)
{
    /// <summary>The queues that hold or wait for something, in the projects given (all when none are given).</summary>
    public async Task<IReadOnlyList<QueueOverview>> QueuesAsync(IReadOnlySet<long> projects, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var queues = (await session.Query<MergeQueueDocument>().ToListAsync(ct))
            .Select(q => (Queue: q, Key: ParseKey(q.Id)))
            .Where(q => q.Key is { } k && (projects.Count == 0 || projects.Contains(k.Project)) && (q.Queue.Holder is not null || q.Queue.Waiting.Count > 0))
            .OrderBy(q => q.Key!.Value.Project).ThenBy(q => q.Key!.Value.Branch, StringComparer.Ordinal)
            .ToList();
        var ids = queues.SelectMany(q => q.Queue.Waiting.Append(q.Queue.Holder ?? 0).Select(iid => $"{q.Key!.Value.Project}/{iid}")).Distinct().ToArray();
        var summaries = (await session.LoadManyAsync<MergeRequestSummary>(ct, ids)).ToDictionary(s => s.Id);
        MergeRequestSummary Summary(long project, long iid) =>
            summaries.GetValueOrDefault($"{project}/{iid}") ?? new MergeRequestSummary { Id = $"{project}/{iid}", ProjectId = project, Iid = iid, State = "unknown" };
        return [.. queues.Select(q => new QueueOverview(q.Key!.Value.Project, q.Key!.Value.Branch,
            q.Queue.Holder is { } h ? Summary(q.Key!.Value.Project, h) : null,
            [.. q.Queue.Waiting.Select(w => Summary(q.Key!.Value.Project, w))]))];
    }

    /// <summary>The most recently changed merge requests, newest first.</summary>
    public async Task<IReadOnlyList<MergeRequestSummary>> RecentAsync(IReadOnlySet<long> projects, int take, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var query = session.Query<MergeRequestSummary>().AsQueryable();
        if (projects.Count > 0)
        {
            var allowed = projects.ToArray();
            query = query.Where(s => allowed.Contains(s.ProjectId));
        }
        return await query.OrderByDescending(s => s.UpdatedAt).Take(take).ToListAsync(ct);
    }

    // Queue keys are "projectId/branch"; a branch may itself contain slashes.
    private static (long Project, string Branch)? ParseKey(string id)
    {
        var slash = id.IndexOf('/');
        return slash > 0 && long.TryParse(id.AsSpan(0, slash), out var project) ? (project, id[(slash + 1)..]) : null;
    }
}
