using Marten;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Persistence;

/// <summary>
/// The group commit's one statement, written batch by batch: what it writes into Marten's tables must read back through
/// Marten as Marten's own append would, and one write's refusal or repetition must never touch its batch-mates.
/// </summary>
public sealed class JournalBatchTests(SchemaFixture db) : IClassFixture<SchemaFixture>, IAsyncLifetime
{
    private DocumentStore store = null!;
    private JournalBatch batch = null!;
    private static readonly DateTimeOffset T = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    public Task InitializeAsync()
    {
        store = DocumentStore.For(o => MartenSetup.Configure(o, db.DataSource, db.Schema));
        // Tells our own earlier write from a duplicate as the journal does; these tests never retry, so never ours.
        batch = new JournalBatch(store, db.DataSource, new PostgresSchema(db.Schema), (_, _) => Task.FromResult(false));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await store.DisposeAsync();

    private static StreamAppend Append(long iid, int expected, string? delivery, params IWorkflowEvent[] events) =>
        new(new MergeRequestKey(7, iid), expected, events, delivery,
            MergeRequestIndex.Summarize(new MergeRequestKey(7, iid), events.Aggregate(MergeRequestWorkflow.Initial, WorkflowEvolver.Evolve)));

    [Fact]
    public async Task Given_a_schema_Marten_never_touched_When_a_batch_is_its_first_write_Then_Marten_reads_the_stream_and_the_summary_as_its_own()
    {
        var key = new MergeRequestKey(7, 1);
        IWorkflowEvent[] events = [new MergeRequested(1, "marge", T), new AttemptCancelled(1, "api", "why", T.AddSeconds(1))];

        var outcomes = await batch.WriteAsync([Append(1, 0, "first-write", events)], CancellationToken.None);

        Assert.Equal([WriteOutcome.Written], outcomes);
        await using var session = store.QuerySession();
        var stored = await session.Events.FetchStreamAsync(key.StreamKey);
        Assert.Equal([1L, 2L], stored.Select(e => e.Version));
        Assert.Equal(events, stored.Select(e => (IWorkflowEvent)e.Data));
        Assert.Equal(["merge_requested", "attempt_cancelled"], stored.Select(e => e.EventTypeName));
        Assert.All(stored, e => Assert.Equal(WorkflowRules.Tag, e.CausationId));
        Assert.True(stored[0].Sequence < stored[1].Sequence);
        var state = await session.Events.FetchStreamStateAsync(key.StreamKey);
        Assert.Equal(2, state!.Version);
        var summary = await session.LoadAsync<MergeRequestSummary>(key.ToString());
        Assert.Equal("cancelled", summary!.State);
        Assert.Equal(1, await session.Query<MergeRequestSummary>().CountAsync(s => s.ProjectId == 7 && s.Iid == 1));
    }

    [Fact]
    public async Task Given_a_batch_with_a_stale_append_a_repeated_delivery_and_fresh_ones_When_written_Then_only_the_stale_and_the_repeat_write_nothing()
    {
        Assert.Equal([WriteOutcome.Written], await batch.WriteAsync([Append(10, 0, null, new MergeRequested(1, "marge", T))], CancellationToken.None));

        var outcomes = await batch.WriteAsync(
        [
            Append(11, 0, "fresh-11", new MergeRequested(1, "marge", T)),
            Append(10, 0, "stale-10", new MergeRequested(1, "other", T)),
            new DeliveryOnly("poke-12", "mr-7-12"),
            new DeliveryOnly("poke-12", "mr-7-12"),
            Append(13, 0, "fresh-13", new MergeRequested(1, "marge", T)),
        ], CancellationToken.None);

        Assert.Equal([WriteOutcome.Written, WriteOutcome.Conflict, WriteOutcome.Written, WriteOutcome.Duplicate, WriteOutcome.Written], outcomes);
        await using var session = store.QuerySession();
        Assert.Equal("marge", Assert.IsType<MergeRequested>(Assert.Single(await session.Events.FetchStreamAsync("mr-7-10")).Data).RequestedBy);
        Assert.Single(await session.Events.FetchStreamAsync("mr-7-11"));
        Assert.Single(await session.Events.FetchStreamAsync("mr-7-13"));
        // The refused write left no trace of its delivery: decided again on the stream as it is, it is applied.
        Assert.Equal([WriteOutcome.Written], await batch.WriteAsync([Append(10, 1, "stale-10", new AttemptCancelled(1, "other", "late", T))], CancellationToken.None));
        // Every delivery that was applied is a duplicate from now on, in whatever batch it comes again.
        Assert.Equal([WriteOutcome.Duplicate, WriteOutcome.Duplicate, WriteOutcome.Duplicate],
            await batch.WriteAsync([Append(11, 1, "fresh-11", new AttemptCancelled(1, "a", "b", T)), new DeliveryOnly("poke-12", "mr-7-12"),
                new DeliveryOnly("stale-10", "mr-7-10")], CancellationToken.None));
    }

    [Fact]
    public async Task Given_streams_of_several_lengths_and_one_never_started_When_read_in_one_statement_Then_each_is_what_Marten_reads_with_its_version()
    {
        await batch.WriteAsync([Append(30, 0, null, new MergeRequested(1, "marge", T)), Append(31, 0, null, new MergeRequested(1, "marge", T))], CancellationToken.None);
        await batch.WriteAsync([Append(30, 1, null, new AttemptCancelled(1, "api", "why", T), new MergeRequested(2, "marge", T.AddMinutes(1)))], CancellationToken.None);

        var read = await batch.ReadAsync(["mr-7-30", "mr-7-32", "mr-7-31"], CancellationToken.None);

        Assert.Equal([3, 0, 1], read.Select(r => r.Version));
        Assert.Empty(read[1].Events);
        await using var session = store.QuerySession();
        Assert.Equal((await session.Events.FetchStreamAsync("mr-7-30")).Select(e => (IWorkflowEvent)e.Data), read[0].Events);
        Assert.Equal((await session.Events.FetchStreamAsync("mr-7-31")).Select(e => (IWorkflowEvent)e.Data), read[2].Events);
    }

    [Fact]
    public async Task Given_two_appends_to_one_stream_in_one_batch_When_written_Then_the_batch_is_refused_whole_so_each_is_written_alone()
    {
        var both = new JournalWrite[] { Append(20, 0, "a-20", new MergeRequested(1, "a", T)), Append(20, 0, "b-20", new MergeRequested(1, "b", T)) };

        await Assert.ThrowsAsync<InvalidOperationException>(() => batch.WriteAsync(both, CancellationToken.None));

        await using var session = store.QuerySession();
        Assert.Empty(await session.Events.FetchStreamAsync("mr-7-20"));
    }
}
