using System.Collections.Concurrent;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.Tests.Persistence;

public sealed class BatchQueueTests
{
    /// <summary>A store that records each transaction and refuses any that holds a poisoned item.</summary>
    private sealed class Store
    {
        public ConcurrentQueue<IReadOnlyList<int>> Transactions { get; } = new();
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Poison { get; init; } = -1;

        public async Task<IReadOnlyList<string>> WriteAsync(IReadOnlyList<int> items, CancellationToken ct)
        {
            await Gate.Task;
            if (items.Contains(Poison)) throw new InvalidOperationException($"item {Poison} breaks the transaction");
            Transactions.Enqueue(items);
            return [.. items.Select(i => $"wrote {i}")];
        }

        public async Task<string> AloneAsync(int item, CancellationToken ct) => (await WriteAsync([item], ct))[0];
    }

    [Fact]
    public async Task Given_many_concurrent_writes_When_the_store_is_busy_Then_they_share_few_transactions_and_each_gets_its_own_result()
    {
        var store = new Store();
        await using var queue = new BatchQueue<int, string>(store.WriteAsync, store.AloneAsync, new BatchOptions(MaxBatch: 32, Writers: 1));

        var writes = Enumerable.Range(0, 100).Select(queue.SubmitAsync).ToList();
        store.Gate.SetResult();
        var results = await Task.WhenAll(writes);

        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"wrote {i}"), results);
        Assert.All(store.Transactions, t => Assert.InRange(t.Count, 1, 32));
        Assert.InRange(store.Transactions.Count, 4, 10);
        Assert.Equal(100, store.Transactions.Sum(t => t.Count));
    }

    [Fact]
    public async Task Given_a_batch_with_one_failing_item_When_written_Then_only_that_item_fails_and_its_batch_mates_are_written_alone()
    {
        var store = new Store { Poison = 7 };
        await using var queue = new BatchQueue<int, string>(store.WriteAsync, store.AloneAsync, new BatchOptions(MaxBatch: 64, Writers: 1));

        var writes = Enumerable.Range(0, 10).Select(queue.SubmitAsync).ToList();
        store.Gate.SetResult();
        await Task.WhenAll(writes.Select(w => w.ContinueWith(_ => { })));

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => writes[7]);
        Assert.Contains("item 7", failed.Message);
        foreach (var i in Enumerable.Range(0, 10).Where(i => i != 7)) Assert.Equal($"wrote {i}", await writes[i]);
        Assert.DoesNotContain(store.Transactions, t => t.Contains(7));
    }

    [Fact]
    public async Task Given_a_delay_When_writes_trickle_in_Then_they_wait_for_company_up_to_that_delay()
    {
        var store = new Store();
        store.Gate.SetResult();
        await using var queue = new BatchQueue<int, string>(store.WriteAsync, store.AloneAsync,
            // A wide window, so that a busy machine's late second write still finds the first waiting; a full batch goes at once.
            new BatchOptions(MaxBatch: 2, MaxDelay: TimeSpan.FromSeconds(5), Writers: 1));

        var first = queue.SubmitAsync(1);
        await Task.Delay(20);
        var second = queue.SubmitAsync(2);
        await Task.WhenAll(first, second);

        Assert.Equal([1, 2], Assert.Single(store.Transactions));
    }
}
