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
}
