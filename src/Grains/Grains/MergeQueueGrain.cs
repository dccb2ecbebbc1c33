using Marten;

namespace Orchestrator.Grains;

public sealed class MergeQueueDocument
{
    public string Id { get; set; } = "";
    public long? Holder { get; set; }
    public List<long> Waiting { get; set; } = [];
    public Dictionary<long, DateTimeOffset> Order { get; set; } = [];
}

public sealed class MergeQueueGrain(IDocumentStore store) : Grain, IMergeQueueGrain
{
    private MergeQueueDocument queue = new();

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        queue = await session.LoadAsync<MergeQueueDocument>(this.GetPrimaryKeyString(), ct) ?? new MergeQueueDocument { Id = this.GetPrimaryKeyString() };
    }

    public async Task<bool> TryAcquire(long iid, DateTimeOffset order)
    {
        if (queue.Holder == iid) return true;
        if (!queue.Waiting.Contains(iid))
        {
            queue.Waiting.Add(iid);
            queue.Order[iid] = order;
            queue.Waiting = [.. queue.Waiting.OrderBy(w => queue.Order.GetValueOrDefault(w)).ThenBy(w => w)];
        }
        if (queue.Holder is null && queue.Waiting[0] == iid)
        {
            queue.Holder = iid;
            queue.Waiting.RemoveAt(0);
        }
        await SaveAsync();
        return queue.Holder == iid;
    }

    public async Task Release(long iid)
    {
        var changed = queue.Waiting.Remove(iid);
        queue.Order.Remove(iid);
        var released = queue.Holder == iid;
        if (released)
        {
            queue.Holder = null;
            changed = true;
        }
        if (changed) await SaveAsync();
        // Hand the branch over now rather than at the next MR's poll (10 s by default: the benchmark showed it as
        // most of the time between two merges). Not awaited: that MR may be mid-step, waiting on this very queue.
        if (released && queue.Waiting.Count > 0)
            _ = GrainFactory.GetGrain<IMergeRequestGrain>(new Domain.MergeRequestKey(Key.ProjectId, queue.Waiting[0]).ToString()).Poke()
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    private Domain.MergeQueueKey Key => Domain.MergeQueueKey.Parse(this.GetPrimaryKeyString());

    public Task<MergeQueueView> Get() => Task.FromResult(new MergeQueueView(queue.Holder, [.. queue.Waiting]));

    private async Task SaveAsync()
    {
        await using var session = store.LightweightSession();
        session.Store(queue);
        await session.SaveChangesAsync();
    }
}
