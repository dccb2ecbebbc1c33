using Marten;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Persistence;

public sealed class WorkflowJournalTests(SchemaFixture db) : IClassFixture<SchemaFixture>, IAsyncLifetime
{
    private DocumentStore store = null!;
    private WorkflowJournal journal = null!;
    private static readonly DateTimeOffset T = new(2026, 11, 28, 9, 0, 0, TimeSpan.FromHours(1));

    public Task InitializeAsync()
    {
        store = DocumentStore.For(o => MartenSetup.Configure(o, db.DataSource, db.Schema));
        journal = new WorkflowJournal(store, db.DataSource, new PostgresSchema(db.Schema));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await journal.DisposeAsync();
        await store.DisposeAsync();
    }

    [Fact]
    public async Task Given_a_new_stream_When_the_first_append_is_retried_Then_the_events_are_stored_once()
    {
        var key = new MergeRequestKey(1, 1);
        IWorkflowEvent[] first = [new MergeRequested(1, "marge", T)];

        Assert.True(await journal.AppendAsync(key, 0, first));
        Assert.True(await journal.AppendAsync(key, 0, first));

        var (version, events) = await journal.ReadAsync(key);
        Assert.Equal(1, version);
        Assert.Equal(first, events);
    }

    [Fact]
    public async Task Given_a_stream_When_a_later_append_is_retried_Then_the_events_are_stored_once()
    {
        var key = new MergeRequestKey(1, 2);
        await journal.AppendAsync(key, 0, [new MergeRequested(1, "marge", T)]);
        IWorkflowEvent[] next =
        [
            new RebaseStarted(1, 1, "queue granted the target branch", T.AddMinutes(1)),
            new Rebased(1, "aaaa", "bbbb", T.AddMinutes(2)),
            new FreshnessChecked(1, "aaaa", [new ImageAssessment("debian/x86_64_build", "20261128-A", FreshnessVerdict.Stale, "cccc", "old")],
                false, T.AddMinutes(3)),
        ];

        Assert.True(await journal.AppendAsync(key, 1, next));
        Assert.True(await journal.AppendAsync(key, 1, next));

        var (version, events) = await journal.ReadAsync(key);
        Assert.Equal(4, version);
        Assert.Equal(4, events.Count);
        var check = Assert.IsType<FreshnessChecked>(events[3]);
        Assert.Equal(FreshnessVerdict.Stale, Assert.Single(check.Images).Verdict);
        Assert.Equal(T.AddMinutes(3), check.At);
    }

    [Fact]
    public async Task Given_a_stream_When_someone_else_appended_at_that_version_Then_the_append_is_refused()
    {
        var key = new MergeRequestKey(1, 3);
        await journal.AppendAsync(key, 0, [new MergeRequested(1, "marge", T)]);
        Assert.True(await journal.AppendAsync(key, 1, [new AttemptCancelled(1, "a", "first", T.AddMinutes(1))]));

        Assert.False(await journal.AppendAsync(key, 1, [new AttemptCancelled(1, "b", "second", T.AddMinutes(1))]));
        Assert.False(await journal.AppendAsync(key, 0, [new MergeRequested(1, "other", T)]));

        var (version, events) = await journal.ReadAsync(key);
        Assert.Equal(2, version);
        Assert.Equal("a", Assert.IsType<AttemptCancelled>(events[1]).CancelledBy);
    }

    [Fact]
    public async Task Given_a_stream_When_read_as_recorded_Then_versions_names_and_bodies_come_back_in_order()
    {
        var key = new MergeRequestKey(1, 4);
        await journal.AppendAsync(key, 0, [new MergeRequested(1, "marge", T), new AttemptCancelled(1, "api", "why", T.AddSeconds(1))]);

        var recorded = await journal.ReadRecordedAsync(key);

        Assert.Equal([1L, 2L], recorded.Select(r => r.Version));
        Assert.Equal(["merge_requested", "attempt_cancelled"], recorded.Select(r => r.Type));
        Assert.Contains("\"cancelledBy\":\"api\"", recorded[1].Data);
        Assert.Equal(T.AddSeconds(1), recorded[1].At);
    }

    [Fact]
    public async Task Given_a_delivery_applied_to_a_stream_When_it_comes_again_with_new_events_Then_it_is_a_duplicate_not_a_conflict_and_nothing_is_written()
    {
        var key = new MergeRequestKey(1, 5);
        Assert.Equal(WriteOutcome.Written, await journal.AppendAsync(new StreamAppend(key, 0, [new MergeRequested(1, "marge", T)], "delivery-1")));

        // The same delivery decided again on a later state (the attempt cancelled in between) would start a new attempt.
        await journal.AppendAsync(key, 1, [new AttemptCancelled(1, "api", "no", T.AddMinutes(1))]);
        Assert.Equal(WriteOutcome.Duplicate, await journal.AppendAsync(new StreamAppend(key, 2, [new MergeRequested(2, "marge", T.AddMinutes(2))], "delivery-1")));
        // A stale version with a new delivery is a conflict, and that delivery is not remembered: it may be decided again.
        Assert.Equal(WriteOutcome.Conflict, await journal.AppendAsync(new StreamAppend(key, 1, [new AttemptCancelled(1, "b", "late", T)], "delivery-2")));
        Assert.Equal(WriteOutcome.Written, await journal.AppendAsync(new StreamAppend(key, 2, [new MergeRequested(2, "marge", T.AddMinutes(3))], "delivery-2")));

        var (version, events) = await journal.ReadAsync(key);
        Assert.Equal(3, version);
        Assert.Equal(2, events.OfType<MergeRequested>().Count());
    }

    [Fact]
    public async Task Given_an_append_with_its_delivery_that_landed_When_retried_Then_it_is_our_own_write_not_a_duplicate()
    {
        var key = new MergeRequestKey(1, 6);
        var append = new StreamAppend(key, 0, [new MergeRequested(1, "marge", T)], "delivery-3");

        Assert.Equal(WriteOutcome.Written, await journal.AppendAsync(append));
        Assert.Equal(WriteOutcome.Written, await journal.AppendAsync(append));

        Assert.Equal(1, (await journal.ReadAsync(key)).Version);
    }

    [Fact]
    public async Task Given_deliveries_that_caused_no_event_When_remembered_Then_a_second_time_is_a_duplicate_for_their_stream_and_none_counts_for_all()
    {
        Assert.True(await journal.RememberAsync("poke-1", "mr-1-7"));
        Assert.False(await journal.RememberAsync("poke-1", "mr-1-7"));
        Assert.True(await journal.RememberAsync("poke-1", "mr-1-8"));

        // Acknowledged as touching nothing: a redelivery is a duplicate, whatever it would touch now.
        Assert.True(await journal.RememberAsync("ignored-1", ""));
        Assert.Equal(WriteOutcome.Duplicate,
            await journal.AppendAsync(new StreamAppend(new MergeRequestKey(1, 9), 0, [new MergeRequested(1, "marge", T)], "ignored-1")));
    }

    [Fact]
    public async Task Given_concurrent_appends_to_many_streams_one_of_them_stale_When_written_together_Then_only_the_stale_one_conflicts()
    {
        var stale = new MergeRequestKey(2, 1);
        await journal.AppendAsync(stale, 0, [new MergeRequested(1, "marge", T)]);

        var writes = Enumerable.Range(2, 40)
            .Select(i => journal.AppendAsync(new StreamAppend(new MergeRequestKey(2, i), 0, [new MergeRequested(1, "marge", T)], $"many-{i}")))
            .Append(journal.AppendAsync(new StreamAppend(stale, 0, [new MergeRequested(1, "other", T)], "many-stale")))
            .ToList();
        var outcomes = await Task.WhenAll(writes);

        Assert.All(outcomes[..^1], o => Assert.Equal(WriteOutcome.Written, o));
        Assert.Equal(WriteOutcome.Conflict, outcomes[^1]);
        Assert.True(journal.Commits.Batches < journal.Commits.Writes);
        Assert.Equal("marge", Assert.IsType<MergeRequested>(Assert.Single((await journal.ReadAsync(stale)).Events)).RequestedBy);
    }
}
