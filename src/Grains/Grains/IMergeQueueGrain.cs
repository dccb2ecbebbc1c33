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

    [Alias("Get")]
    Task<MergeQueueView> Get();
}

[GenerateSerializer, Alias("MergeQueueView")]
public sealed record MergeQueueView([property: Id(0)] long? Holder, [property: Id(1)] IReadOnlyList<long> Waiting);
