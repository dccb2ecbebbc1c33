using Marten;
using Orchestrator.Domain;
using Orchestrator.Grains;

namespace Orchestrator.Persistence;

/// <summary>A queue as the operations page shows it: who holds the branch and who waits, with their states.</summary>
public sealed record QueueOverview(long ProjectId, string TargetBranch, MergeRequestSummary? Holder, IReadOnlyList<MergeRequestSummary> Waiting,
    Grains.QueuePause? Paused = null);

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
        var queues = new List<(MergeQueueKey, MergeQueueDocument)>();
        foreach (var queue in await session.Query<MergeQueueDocument>().ToListAsync(ct))
            if ((queue.Holder is not null || queue.Waiting.Count > 0 || queue.Paused is not null) && MergeQueueKey.TryParse(queue.Id, out var key)
                && (projects.Count == 0 || projects.Contains(key.Value.ProjectId)))
                queues.Add((key.Value, queue));
        queues.Sort((a, b) => (a.Item1.ProjectId, a.Item1.Branch).CompareTo((b.Item1.ProjectId, b.Item1.Branch)));
        return await WithStatesAsync(session, queues, ct);
    }

    /// <summary>One queue (empty when nobody asked for that branch). States come from the MR index, which the grain
    /// updates right after each append, so reading a queue activates no merge request grain.</summary>
    public async Task<QueueOverview> QueueAsync(MergeQueueKey key, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var queue = await session.LoadAsync<MergeQueueDocument>(key.ToString(), ct) ?? new MergeQueueDocument { Id = key.ToString() };
        return (await WithStatesAsync(session, [(key, queue)], ct))[0];
    }

    private static async Task<IReadOnlyList<QueueOverview>> WithStatesAsync(IQuerySession session,
        IReadOnlyList<(MergeQueueKey Key, MergeQueueDocument Queue)> queues, CancellationToken ct)
    {
        static string Id(MergeQueueKey queue, long iid) => new MergeRequestKey(queue.ProjectId, iid).ToString();
        var ids = queues.SelectMany(q => (q.Queue.Holder is { } h ? q.Queue.Waiting.Prepend(h) : q.Queue.Waiting).Select(iid => Id(q.Key, iid)))
            .Distinct().ToArray();
        var summaries = ids.Length == 0 ? [] : (await session.LoadManyAsync<MergeRequestSummary>(ct, ids)).ToDictionary(s => s.Id);
        MergeRequestSummary Summary(MergeQueueKey queue, long iid) => summaries.GetValueOrDefault(Id(queue, iid))
            ?? new MergeRequestSummary { Id = Id(queue, iid), ProjectId = queue.ProjectId, Iid = iid, State = "unknown" };
        return [.. queues.Select(q => new QueueOverview(q.Key.ProjectId, q.Key.Branch,
            q.Queue.Holder is { } h ? Summary(q.Key, h) : null, [.. q.Queue.Waiting.Select(w => Summary(q.Key, w))], q.Queue.Paused))];
    }

    /// <summary>The target branches where a merge request's workflow is under way, per project: where a train may run.</summary>
    public async Task<IReadOnlyList<MergeQueueKey>> ActiveBranchesAsync(IReadOnlySet<long> projects, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var active = MergeRequestIndex.ActiveStates;
        var query = session.Query<MergeRequestSummary>().Where(s => active.Contains(s.State) && s.TargetBranch != null);
        if (projects.Count > 0)
        {
            var allowed = projects.ToArray();
            query = query.Where(s => allowed.Contains(s.ProjectId));
        }
        var rows = await query.Select(s => new { s.ProjectId, s.TargetBranch }).ToListAsync(ct);
        return [.. rows.Select(r => new MergeQueueKey(r.ProjectId, r.TargetBranch!)).Distinct().OrderBy(k => k.ProjectId).ThenBy(k => k.Branch, StringComparer.Ordinal)];
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
}
