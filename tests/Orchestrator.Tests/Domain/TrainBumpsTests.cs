using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// Which tags a merge request bumps for its train is recorded in its own stream (the tag files read at its head and the
/// target's), once per attempt and head; the bumps it joins with are derived from that record, and replay derives them again.
/// </summary>
public sealed class TrainBumpsTests
{
    private const string Head = "3333333333333333333333333333333333333333";
    private const string NewHead = "5555555555555555555555555555555555555555";
    private const string Target = "1111111111111111111111111111111111111111";
    private static readonly TagFileRead[] Reads = [new("debian/x86_64_build", "20261130-t", "20261101-base"), new("debian/arm64_build", "20261101-base", "20261101-base")];

    private static ObserveTagFiles Read(string head, int minute = 1) => new(head, Target, Reads, At(minute));

    [Fact]
    public void Given_a_queued_request_When_its_tag_files_are_read_Then_the_reads_and_the_tags_its_head_bumps_are_recorded()
    {
        var s = DeciderSpec.Given(Queued).When(Read(Head))
            .Then(new TrainBumpsObserved(1, Head, Target, Reads, ["debian/x86_64_build:20261130-t"], At(1)));

        Assert.Equal(["debian/x86_64_build:20261130-t"], TrainBumps.Recorded(s, Head));
        // Read at another head, or not at all: nothing to join with yet.
        Assert.Null(TrainBumps.Recorded(s, NewHead));
        Assert.Null(TrainBumps.Recorded(Fold(Queued), Head));
    }

    [Fact]
    public void Given_the_reads_were_recorded_for_this_attempt_and_head_When_read_again_after_a_crash_Then_nothing_is_recorded_again()
    {
        IWorkflowEvent[] recorded = [.. Queued, .. WorkflowDecider.Decide(Read(Head), Fold(Queued)).Events];

        DeciderSpec.Given(recorded).When(Read(Head, 2)).ThenNothing();
        // Someone pushed before it joined: the new head is read again.
        var moved = DeciderSpec.Given(recorded).When(Read(NewHead, 2)).ThenEvents();
        Assert.Equal(NewHead, Assert.IsType<TrainBumpsObserved>(Assert.Single(moved)).HeadSha);
    }

    [Fact]
    public void Given_reads_recorded_in_an_earlier_attempt_When_the_request_is_queued_again_Then_they_count_for_nothing()
    {
        IWorkflowEvent[] again = [.. Queued, .. WorkflowDecider.Decide(Read(Head), Fold(Queued)).Events,
            new AttemptFailed(1, WorkflowState.Queued, "CI failed!", At(3)), new MergeRequested(2, "marge", At(4))];

        Assert.Null(TrainBumps.Recorded(Fold(again), Head));
        Assert.Equal(2, Assert.IsType<TrainBumpsObserved>(Assert.Single(DeciderSpec.Given(again).When(Read(Head, 5)).ThenEvents())).Attempt);
    }

    [Fact]
    public void Given_a_request_no_longer_queued_When_a_late_read_arrives_Then_it_changes_nothing() =>
        DeciderSpec.Given(Rebasing).When(Read(Head, 9)).ThenNothing();

    [Fact]
    public void Given_a_recorded_read_When_replayed_Then_the_bumps_are_derived_again_and_a_forged_bump_is_told_apart()
    {
        IWorkflowEvent[] stream = [.. Queued, .. WorkflowDecider.Decide(Read(Head), Fold(Queued)).Events];
        Assert.True(WorkflowReplay.Run(stream).Consistent);

        var observed = (TrainBumpsObserved)stream[^1];
        IWorkflowEvent[] forged = [.. Queued, observed with { Bumps = ["debian/arm64_build:20261101-base"] }];
        Assert.False(WorkflowReplay.Run(forged).Consistent);
    }
}
