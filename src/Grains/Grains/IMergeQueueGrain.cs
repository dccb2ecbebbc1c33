namespace Orchestrator.Grains;

/// <summary>
/// The queue of one target branch (key <c>projectId/branch</c>): one merge request at a time holds the branch
/// from rebase to merge, as marge-bot works serially; the others wait in arrival order. Durable, so after a
/// crash it still knows who holds the branch.
/// </summary>
[Alias("IMergeQueueGrain")]
public interface IMergeQueueGrain : IGrainWithStringKey
{
    /// <summary>
    /// Joins the queue if absent, placed by <paramref name="order"/> (the policy's mergeOrder: when the MR was
    /// created, or when it was asked for); true when <paramref name="iid"/> holds (or now takes) the branch.
    /// </summary>
    [Alias("TryAcquire")]
    Task<bool> TryAcquire(long iid, DateTimeOffset order);

    /// <summary>Leaves the queue, releasing the branch if held. Releasing twice changes nothing.</summary>
    [Alias("Release")]
    Task Release(long iid);

    /// <summary>
    /// Hands the branch to no one until <see cref="Resume"/>; everyone keeps their place. The holder finishes, unless
    /// <paramref name="stopRunning"/>, which cancels its attempt (and so frees the branch). Pausing a paused queue keeps the first reason.
    /// </summary>
    [Alias("Pause")]
    Task<MergeQueueView> Pause(string reason, string by, bool stopRunning, DateTimeOffset at);

    /// <summary>Hands the branch to the first in line again, at once.</summary>
    [Alias("Resume")]
    Task<MergeQueueView> Resume(string by, DateTimeOffset at);

    /// <summary>Puts a waiting merge request first in line; false when it is not waiting in this queue.</summary>
    [Alias("MoveToFront")]
    Task<bool> MoveToFront(long iid, string by, DateTimeOffset at);

    [Alias("Get")]
    Task<MergeQueueView> Get();
}

[GenerateSerializer, Alias("QueuePauseView")]
public sealed record QueuePauseView([property: Id(0)] string Reason, [property: Id(1)] string By, [property: Id(2)] DateTimeOffset Since);

[GenerateSerializer, Alias("MergeQueueView")]
public sealed record MergeQueueView([property: Id(0)] long? Holder, [property: Id(1)] IReadOnlyList<long> Waiting, [property: Id(2)] QueuePauseView? Paused = null)
{
    /// <summary>Why <paramref name="iid"/> does not hold the branch, as its step says it: a pause first, since it holds everyone.</summary>
    public string WaitReason(long iid)
    {
        if (Paused is { } p) return $"the queue is paused by {p.By} since {p.Since:u}: {p.Reason}";
        var ahead = Waiting.TakeWhile(w => w != iid).Select(w => $"!{w}").ToList();
        var holder = Holder is { } h ? $"!{h} holds the target branch" : "the target branch is being handed over";
        return ahead.Count == 0 ? holder : $"{holder}; ahead in the queue: {string.Join(", ", ahead)}";
    }
}
