extern alias sandbox;

using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using sandbox::Sandbox.Seed;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>Steering on the sandbox: a paused queue, a rushed merge request, a weekend embargo on a clock moved forward.</summary>
public sealed class QueueSteeringTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private static readonly FileChange SlowTests = new("update", ".gitlab-ci/run-tests.sh", "sleep 4\n" + IncidentFiles.RunTests);

    [Fact]
    public async Task Given_one_mr_holding_the_branch_and_two_waiting_When_the_queue_is_paused_Then_only_the_holder_merges_until_resume_and_a_rushed_one_goes_first()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "pause");
        var holder = await h.OpenMrAsync("slow", "Slow tests", SlowTests);
        var second = await h.OpenMrAsync("second", "Second", new FileChange("create", "second.txt", "2\n"));
        var third = await h.OpenMrAsync("third", "Third", new FileChange("create", "third.txt", "3\n"));
        var queue = h.Cluster.GrainFactory.GetGrain<IMergeQueueGrain>(new MergeQueueKey(h.Upstream, "main").ToString());
        await h.Grain(holder).Enqueue(Requester.ApiToken("marge-bot"));
        await h.WaitForState(holder, s => s.PipelineId is not null);
        await h.Grain(second).Enqueue(Requester.ApiToken("marge-bot"));
        await h.Grain(third).Enqueue(Requester.ApiToken("marge-bot"));
        await Eventually.True(async () => (await queue.Get()).Waiting.Count == 2, "both to wait for the branch");

        await queue.Pause("release freeze", "an admin", stopRunning: false, DateTimeOffset.UtcNow);
        var merged = await h.WaitForOutcome(holder, 1);

        // The one running finished; the branch went to no one (it is handed over at the release, before the note).
        Assert.Equal(WorkflowState.Completed, merged.State);
        Assert.Equal(merged.MergeCommitSha, await h.MainHead());
        var paused = await queue.Get();
        Assert.Equal(((long?)null, "release freeze"), (paused.Holder, paused.Paused?.Reason));
        Assert.Equal([second, third], paused.Waiting);
        Assert.Equal((WorkflowState.Queued, WorkflowState.Queued),
            ((await h.Grain(second).GetSnapshot()).Workflow.State, (await h.Grain(third).GetSnapshot()).Workflow.State));

        Assert.True(await queue.MoveToFront(third, "an admin", DateTimeOffset.UtcNow));
        await queue.Resume("an admin", DateTimeOffset.UtcNow);
        var rushed = await h.WaitForOutcome(third, 1);
        var after = await h.WaitForOutcome(second, 1);

        Assert.Equal((WorkflowState.Completed, WorkflowState.Completed), (rushed.State, after.State));
        // The rushed one merged first: the other was rebased onto its merge.
        Assert.Equal(rushed.MergeCommitSha, after.TargetSha);
    }

    [Fact]
    public async Task Given_an_embargo_around_now_When_an_mr_is_enqueued_Then_it_is_built_but_merges_right_after_the_window_closes_with_its_checks_made_again()
    {
        var clock = new ShiftedClock();
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "embargo", clock: clock);
        var now = clock.GetUtcNow();
        static string At(DateTimeOffset t) => $"{t.DayOfWeek.ToString()[..3]} {t:HH:mm}";
        var window = new EmbargoWindow(At(now.AddHours(-1)), At(now.AddHours(1)), "UTC");
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with { Embargo = [window] });
        var iid = await h.OpenMrAsync("weekend", "A Friday evening change", new FileChange("create", "friday.txt", "late\n"));
        var mainBefore = await h.MainHead();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var waiting = await h.WaitForState(iid, s => s.EmbargoedUntil is not null);

        Assert.Equal(WorkflowState.Merging, waiting.State);
        Assert.NotNull(waiting.PipelineId);
        Assert.Equal(mainBefore, await h.MainHead());
        Assert.True(waiting.EmbargoedUntil > clock.GetUtcNow());

        clock.Advance(waiting.EmbargoedUntil!.Value - clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var merged = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, merged.State);
        var events = (await h.Grain(iid).GetEvents()).Select(e => e.Type).ToList();
        // The merge's checks were made after the window, not carried over from before it.
        Assert.True(events.IndexOf("merge_embargoed") < events.FindLastIndex(e => e == "permission_checked"));
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }
}
