using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Grains;

public sealed class MergeRequestGrainTests(SchemaFixture db) : IClassFixture<SchemaFixture>
{
    private readonly string serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Given_recorded_attempts_When_every_silo_stops_and_a_new_cluster_starts_Then_state_and_version_are_equal()
    {
        var key = new MergeRequestKey(278964, 1203);
        WorkflowSnapshot before;
        await using (var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId))
        {
            var grain = cluster.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString());
            await grain.Enqueue(Requester.ApiToken("marge"));
            await grain.Cancel("api", "reassigned");
            await grain.Enqueue(Requester.ApiToken("marge"));
            await grain.Cancel("api", "unassigned");
            var last = await grain.Enqueue(Requester.ApiToken("marge-bot"));
            Assert.Equal(1, last.EventsRecorded);
            before = await grain.GetSnapshot();
            await cluster.StopAllSilosAsync();
        }

        await using var next = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var after = await next.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString()).GetSnapshot();

        Assert.Equal(5, before.Version);
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(3, after.Workflow.Attempt);
        Assert.Equal(WorkflowState.Queued, after.Workflow.State);
        Assert.Equal("marge-bot", after.Workflow.RequestedBy);
        Assert.Equal(before.Workflow with { Images = [], BuiltImages = [], Promotions = [] },
            after.Workflow with { Images = [], BuiltImages = [], Promotions = [] });
    }

    [Fact]
    public async Task Given_an_active_grain_When_another_writer_appends_first_Then_the_grain_decides_again_and_the_history_does_not_fork()
    {
        var key = new MergeRequestKey(278964, 1204);
        // Kept active with nothing to do (no GitLab here), the grain holds the state it read before the outside append.
        await using var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId,
            settings: new Dictionary<string, string?> { ["Orchestrator:Workflow:ReleaseIdleGrains"] = "false" });
        var grain = cluster.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString());
        await grain.Enqueue(Requester.ApiToken("marge"));

        var journal = JournalOf(cluster);
        var outside = new AttemptCancelled(1, "operator", "cancelled in the database", DateTimeOffset.UtcNow);
        Assert.True(await journal.AppendAsync(key, 1, [outside]));

        // The grain still believes attempt 1 is queued: its cancel collides with the outside append,
        // it re-reads the stream, and on the fresh state a cancel of a cancelled attempt decides nothing.
        var outcome = await grain.Cancel("api", "second cancel");

        Assert.Equal(0, outcome.EventsRecorded);
        Assert.Equal(2, outcome.Snapshot.Version);
        Assert.Equal(WorkflowState.Cancelled, outcome.Snapshot.Workflow.State);
        var (version, events) = await journal.ReadAsync(key);
        Assert.Equal(2, version);
        Assert.Equal(["merge_requested", "attempt_cancelled"], events.Select(WorkflowEventNames.NameOf));
        Assert.Equal("operator", Assert.IsType<AttemptCancelled>(events[1]).CancelledBy);

        // And the grain carries on from the shared history: the next enqueue is attempt 2 at version 3.
        var next = await grain.Enqueue(Requester.ApiToken("marge"));
        Assert.Equal((3, 2), (next.Snapshot.Version, next.Snapshot.Workflow.Attempt));
    }

    [Fact]
    public async Task Given_a_new_merge_request_When_its_first_delivery_arrives_Then_no_stream_is_read_and_a_redelivery_is_a_duplicate()
    {
        var key = new MergeRequestKey(278964, 1206);
        await using var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var journal = JournalOf(cluster);
        var grain = cluster.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString());
        var readsBefore = journal.Reads.Streams;

        var first = await grain.Enqueue(Requester.ApiToken("marge"), "14:first");

        Assert.Equal((1, 1, WorkflowState.Queued), (first.EventsRecorded, first.Snapshot.Version, first.Snapshot.Workflow.State));
        Assert.Equal(readsBefore, journal.Reads.Streams);
        var again = await grain.Enqueue(Requester.ApiToken("marge"), "14:first");
        Assert.Equal((true, 0, 1), (again.Duplicate, again.EventsRecorded, again.Snapshot.Version));
        Assert.Equal(["merge_requested"], (await journal.ReadAsync(key)).Events.Select(WorkflowEventNames.NameOf));
    }

    [Fact]
    public async Task Given_an_attempt_stored_by_another_silo_When_a_fresh_activation_is_told_to_cancel_Then_it_cancels_the_stored_attempt()
    {
        // On a stream not started a cancel decides nothing: a fresh activation must not answer that without reading.
        var key = new MergeRequestKey(278964, 1207);
        await using var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var journal = JournalOf(cluster);
        Assert.True(await journal.AppendAsync(key, 0, [new MergeRequested(1, "marge", DateTimeOffset.UtcNow)]));
        var readsBefore = journal.Reads.Streams;

        var outcome = await cluster.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString()).Cancel("marge", "unassigned", "14:cancel");

        Assert.Equal((1, 2, WorkflowState.Cancelled), (outcome.EventsRecorded, outcome.Snapshot.Version, outcome.Snapshot.Workflow.State));
        Assert.True(journal.Reads.Streams > readsBefore);
        Assert.Equal(["merge_requested", "attempt_cancelled"], (await journal.ReadAsync(key)).Events.Select(WorkflowEventNames.NameOf));
    }

    [Fact]
    public async Task Given_an_ended_attempt_stored_by_another_silo_When_a_fresh_activation_is_enqueued_Then_the_next_attempt_follows_it_without_a_fork()
    {
        // Decided on a stream not started, the request is refused by the journal's version guard, read, and decided again.
        var key = new MergeRequestKey(278964, 1208);
        await using var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var journal = JournalOf(cluster);
        Assert.True(await journal.AppendAsync(key, 0, [new MergeRequested(1, "marge", DateTimeOffset.UtcNow), new AttemptCancelled(1, "marge", "unassigned", DateTimeOffset.UtcNow)]));
        var grain = cluster.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString());

        var outcome = await grain.Enqueue(Requester.ApiToken("marge"), "14:again");

        Assert.Equal((1, 3, 2), (outcome.EventsRecorded, outcome.Snapshot.Version, outcome.Snapshot.Workflow.Attempt));
        var (version, events) = await journal.ReadAsync(key);
        Assert.Equal(3, version);
        Assert.Equal(["merge_requested", "attempt_cancelled", "merge_requested"], events.Select(WorkflowEventNames.NameOf));
        Assert.True((await grain.Enqueue(Requester.ApiToken("marge"), "14:again")).Duplicate);
    }

    [Fact]
    public async Task Given_a_merged_request_When_enqueued_through_the_grain_Then_it_is_refused_and_nothing_is_written()
    {
        var key = new MergeRequestKey(278964, 1205);
        await using var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var journal = JournalOf(cluster);
        var t = DateTimeOffset.UtcNow;
        IWorkflowEvent[] merged =
        [
            new MergeRequested(1, "marge", t), new RebaseStarted(1, 1, "queue granted the target branch", t),
            new Rebased(1, "aaaa", "bbbb", t), new FreshnessChecked(1, "aaaa", [], false, t),
            new PipelineCreated(1, 7, "aaaa", false, t), new PipelineObserved(1, 7, "success", t),
            new BuildVerified(1, "bbbb", [], t), new Merged(1, "cccc", t),
        ];
        Assert.True(await journal.AppendAsync(key, 0, merged));

        var outcome = await cluster.GrainFactory.GetGrain<IMergeRequestGrain>(key.ToString()).Enqueue(Requester.ApiToken("marge"));

        Assert.Equal(RejectionKind.Conflict, outcome.Rejection?.Kind);
        Assert.Equal(WorkflowState.Completed, outcome.Snapshot.Workflow.State);
        Assert.Equal(8, (await journal.ReadAsync(key)).Version);
    }

    [Fact]
    public async Task Given_a_held_branch_When_merge_requests_join_Then_they_wait_in_the_policys_order_and_the_queue_survives_a_restart()
    {
        var t = DateTimeOffset.UtcNow;
        await using (var cluster = await OrchestratorCluster.DeployAsync(db.Schema, serviceId))
        {
            var queue = cluster.GrainFactory.GetGrain<IMergeQueueGrain>("7/main");
            Assert.True(await queue.TryAcquire(30, t));
            Assert.False(await queue.TryAcquire(32, t.AddMinutes(2)));
            Assert.False(await queue.TryAcquire(31, t.AddMinutes(1)));
            var first = await queue.Get();
            Assert.Equal((30L, new long[] { 31, 32 }), (first.Holder!.Value, first.Waiting.ToArray()), new QueueComparer());
            await cluster.StopAllSilosAsync();
        }
        await using var next = await OrchestratorCluster.DeployAsync(db.Schema, serviceId);
        var restored = next.GrainFactory.GetGrain<IMergeQueueGrain>("7/main");
        Assert.False(await restored.TryAcquire(31, t));
        await restored.Release(30);
        await restored.Release(30);
        Assert.False(await restored.TryAcquire(32, t));
        Assert.True(await restored.TryAcquire(31, t));
        var view = await restored.Get();
        Assert.Equal((31L, new long[] { 32 }), (view.Holder!.Value, view.Waiting.ToArray()), new QueueComparer());
    }

    private static WorkflowJournal JournalOf(Orleans.TestingHost.TestCluster cluster) => cluster.GetSiloServiceProvider().GetRequiredService<WorkflowJournal>();

    private sealed class QueueComparer : IEqualityComparer<(long Holder, long[] Waiting)>
    {
        public bool Equals((long Holder, long[] Waiting) x, (long Holder, long[] Waiting) y) => x.Holder == y.Holder && x.Waiting.SequenceEqual(y.Waiting);
        public int GetHashCode((long Holder, long[] Waiting) obj) => obj.Holder.GetHashCode();
    }
}
