using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// A commit pushed after the merge was asked for is not merged under the requester's authority: the black-box finding,
/// end to end on the sandbox's webhooks (the maintainer assigns the bot while main's queue is paused; the author pushes;
/// the queue resumes).
/// </summary>
public sealed class LatePushTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_a_maintainer_asked_for_bobs_head_When_bob_pushes_while_it_waits_Then_nothing_is_merged_and_the_note_says_someone_pushed()
    {
        await using var host = await Host("late");
        var h = host.Harness;
        var iid = await h.OpenMrAsync("docs-late", "Docs", new FileChange("update", "README.md", "# mesa\nlate\n"));

        var (asked, late, failed) = await AskThenPushWhilePaused(host, iid,
            () => h.CommitAsync(h.As("bob"), h.Upstream, "docs-late", "Late", [new FileChange("create", "late.txt", "late\n")]));

        Assert.Equal(new RequestedHead(asked, RequestedHead.MergeRequestHook), failed.Head);
        AssertStoppedFor(failed, late);
        // Stopped when the branch was handed over, before GitLab was asked to rebase the late commit.
        var types = (await host.Grain(iid).GetEvents()).Select(e => e.Type).ToList();
        Assert.Contains("rebase_stopped", types);
        Assert.DoesNotContain(types, t => t is "rebased" or "pipeline_created" or "merged");
        Assert.Equal("opened", (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}"))["state"]!.GetValue<string>());
        Assert.Contains(await h.NotesAsync(iid), n => n.Contains(WorkflowDecider.SomeonePushed));
    }

    [Fact]
    public async Task Given_a_maintainer_asked_for_a_fork_merge_request_When_the_fork_owner_pushes_while_it_waits_Then_nothing_is_merged()
    {
        await using var host = await Host("latefork");
        var h = host.Harness;

        var (asked, late, failed) = await AskThenPushWhilePaused(host, h.MrA,
            () => h.CommitAsync(h.As("alice"), h.Fork, "a-new-tool", "Late", [new FileChange("create", "late.txt", "late\n")]));

        Assert.Equal(asked, failed.PinnedHead);
        AssertStoppedFor(failed, late);
        Assert.Equal("opened", (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{h.MrA}"))["state"]!.GetValue<string>());
    }

    private Task<WebhookFedHost> Host(string suffix) =>
        WebhookFedHost.StartAsync(db, sandbox, suffix, h => WorkflowHarness.IncidentPolicy(h.UpstreamPath, triggerLabel: "merge-me", commanders: ["developer"]));

    /// <summary>
    /// Pauses main's queue, has the maintainer assign the bot, waits for the request's check, runs <paramref name="push"/>,
    /// resumes: the head asked for, the late one, and how the attempt ended.
    /// </summary>
    private static async Task<(string Asked, string Late, MergeRequestWorkflow Outcome)> AskThenPushWhilePaused(WebhookFedHost host, long iid, Func<Task<string>> push)
    {
        var h = host.Harness;
        var mr = $"projects/{h.Upstream}/merge_requests/{iid}";
        var queue = host.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IMergeQueueGrain>(new MergeQueueKey(h.Upstream, "main").ToString());
        var asked = (await h.Get(h.As("maintainer"), mr))["sha"]!.GetValue<string>();
        await queue.Pause("release freeze", "an admin", stopRunning: false, DateTimeOffset.UtcNow);

        (await h.As("maintainer").PutAsJsonAsync(mr, new { assignee_ids = new[] { host.BotId } })).EnsureSuccessStatusCode();
        await Eventually.True(async () => (await host.Grain(iid).GetSnapshot()).Workflow.PermissionChecked(PermissionCheckpoint.Request),
            "the request to be checked and wait for the paused queue");
        var late = await push();
        await queue.Resume("an admin", DateTimeOffset.UtcNow);
        return (asked, late, await host.WaitForOutcome(iid, 1, TimeSpan.FromSeconds(120)));
    }

    private static void AssertStoppedFor(MergeRequestWorkflow failed, string late)
    {
        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.StartsWith(WorkflowDecider.SomeonePushed, failed.Outcome);
        Assert.Contains(late, failed.Outcome);
    }
}
