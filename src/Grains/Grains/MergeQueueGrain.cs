using Marten;

namespace Orchestrator.Grains;

/// <summary>Who paused a branch's queue, why and when.</summary>
public sealed class QueuePause
{
    public string Reason { get; set; } = "";
    public string By { get; set; } = "";
    public DateTimeOffset Since { get; set; }
}

/// <summary>One steering act on a queue: what was done, by which token (and the user it acts for), when.</summary>
public sealed class QueueSteer
{
    public string What { get; set; } = "";
    public string By { get; set; } = "";
    public DateTimeOffset At { get; set; }
}

public sealed class MergeQueueDocument
{
    public string Id { get; set; } = "";
    public long? Holder { get; set; }
    public List<long> Waiting { get; set; } = [];
    public Dictionary<long, DateTimeOffset> Order { get; set; } = [];
    public QueuePause? Paused { get; set; }
    /// <summary>The latest steering acts, newest last (admin rights: each is traceable to who did it).</summary>
    public List<QueueSteer> Steering { get; set; } = [];
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
            Sort();
        }
        // A paused queue keeps everyone's place and hands the branch to no one.
        if (queue.Holder is null && queue.Paused is null && queue.Waiting[0] == iid)
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
        if (released) HandOver();
    }

    public async Task<MergeQueueView> Pause(string reason, string by, bool stopRunning, DateTimeOffset at)
    {
        queue.Paused ??= new QueuePause { Reason = reason, By = by, Since = at };
        Steer($"paused: {reason}" + (stopRunning ? " (stopping the running one)" : ""), by, at);
        await SaveAsync();
        if (stopRunning && queue.Holder is { } running)
            await MergeRequest(running).Cancel(by, $"the queue of `{Key.Branch}` was paused: {reason}");
        return View();
    }

    public async Task<MergeQueueView> Resume(string by, DateTimeOffset at)
    {
        if (queue.Paused is null) return View();
        Steer($"resumed (paused by {queue.Paused.By}: {queue.Paused.Reason})", by, at);
        queue.Paused = null;
        await SaveAsync();
        if (queue.Holder is null) HandOver();
        return View();
    }

    public async Task<bool> MoveToFront(long iid, string by, DateTimeOffset at)
    {
        if (!queue.Waiting.Contains(iid)) return false;
        Steer($"moved !{iid} to the front", by, at);
        queue.Order[iid] = queue.Waiting.Select(w => queue.Order.GetValueOrDefault(w)).Min().AddTicks(-1);
        Sort();
        await SaveAsync();
        return true;
    }

    public Task<MergeQueueView> Get() => Task.FromResult(View());

    private MergeQueueView View() => new(queue.Holder, [.. queue.Waiting],
        queue.Paused is { } p ? new QueuePauseView(p.Reason, p.By, p.Since) : null);

    private void Steer(string what, string by, DateTimeOffset at)
    {
        queue.Steering.Add(new QueueSteer { What = what, By = by, At = at });
        if (queue.Steering.Count > 50) queue.Steering.RemoveAt(0);
    }

    private void Sort() => queue.Waiting = [.. queue.Waiting.OrderBy(w => queue.Order.GetValueOrDefault(w)).ThenBy(w => w)];

    /// <summary>
    /// Hands the branch over now rather than at the next MR's poll (10 s by default: the benchmark showed it as most of
    /// the time between two merges). Not awaited: that MR may be mid-step, waiting on this very queue.
    /// </summary>
    private void HandOver()
    {
        if (queue.Waiting.Count == 0 || queue.Paused is not null) return;
        _ = MergeRequest(queue.Waiting[0]).Poke().ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    private IMergeRequestGrain MergeRequest(long iid) => GrainFactory.GetGrain<IMergeRequestGrain>(new Domain.MergeRequestKey(Key.ProjectId, iid).ToString());

    private Domain.MergeQueueKey Key => Domain.MergeQueueKey.Parse(this.GetPrimaryKeyString());

    private async Task SaveAsync()
    {
        await using var session = store.LightweightSession();
        session.Store(queue);
        await session.SaveChangesAsync();
    }
}
