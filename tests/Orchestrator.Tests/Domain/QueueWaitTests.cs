using Orchestrator.Grains;
using Xunit;

namespace Orchestrator.Tests.Domain;

/// <summary>What a merge request waiting in a serial queue says it waits for.</summary>
public sealed class QueueWaitTests
{
    [Fact]
    public void Given_a_paused_queue_When_a_merge_request_waits_Then_it_says_the_pause_not_a_holder() =>
        Assert.Equal("the queue is paused by admin-token since 2026-11-30 10:00:00Z: release freeze",
            new MergeQueueView(null, [5, 7], new QueuePauseView("release freeze", "admin-token", new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero))).WaitReason(7));

    [Fact]
    public void Given_a_holder_and_others_ahead_When_a_merge_request_waits_Then_it_names_them() =>
        Assert.Equal("!3 holds the target branch; ahead in the queue: !5", new MergeQueueView(3, [5, 7, 9], null).WaitReason(7));

    [Fact]
    public void Given_no_holder_When_the_first_in_line_waits_Then_the_branch_is_being_handed_over() =>
        Assert.Equal("the target branch is being handed over", new MergeQueueView(null, [7], null).WaitReason(7));
}
