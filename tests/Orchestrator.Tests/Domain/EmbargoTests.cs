using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>Weekend embargoes, as marge-bot's --embargo: nothing merges inside the window, and its checks are made afresh after it.</summary>
public sealed class EmbargoTests
{
    private static readonly EmbargoWindow Weekend = new("Fri 18:00", "Mon 08:00", "Europe/Berlin");

    // 2026-11-27 is a Friday; Berlin is UTC+1 in November.
    private static DateTimeOffset Berlin(int day, int hour, int minute = 0) => new(2026, 11, day, hour, minute, 0, TimeSpan.FromHours(1));

    [Theory]
    [InlineData(27, 17, 59, null)]
    [InlineData(27, 18, 0, "2026-11-30T08:00:00+01:00")]
    [InlineData(28, 12, 0, "2026-11-30T08:00:00+01:00")]
    [InlineData(30, 7, 59, "2026-11-30T08:00:00+01:00")]
    [InlineData(30, 8, 0, null)]
    [InlineData(25, 12, 0, null)]
    public void Given_a_weekend_window_When_asked_at_a_moment_Then_it_says_until_when_merges_wait(int day, int hour, int minute, string? until) =>
        Assert.Equal(until is null ? null : DateTimeOffset.Parse(until), Embargoes.Until([Weekend], Berlin(day, hour, minute)));

    [Fact]
    public void Given_a_window_in_another_zone_When_asked_in_utc_Then_the_zone_decides() =>
        Assert.Null(Embargoes.Until([Weekend], new DateTimeOffset(2026, 11, 27, 16, 59, 0, TimeSpan.Zero)));

    [Theory]
    [InlineData("Fri 18:00", "Mon 08:00", "Mars/Olympus")]
    [InlineData("Friday evening", "Mon 08:00", "UTC")]
    [InlineData("Fri 25:00", "Mon 08:00", "UTC")]
    public void Given_a_window_that_cannot_be_read_When_the_policy_is_validated_Then_it_is_refused(string from, string to, string zone) =>
        Assert.NotEmpty(new ProjectPolicy(Embargo: [new EmbargoWindow(from, to, zone)]).Validate());

    private static IWorkflowEvent[] MergingByToken =>
        [new MergeRequested(1, "ci-bot", At(0), Requester.ApiToken("ci-bot")), .. Merging.Skip(1)];

    private static RecordCheckpoint MergeCheck(DateTimeOffset at) =>
        new(PermissionCheckpoint.Merge, "main", null, [], at, ObservationDeciderTests.Ready);

    [Fact]
    public void Given_a_verified_mr_When_its_merge_comes_inside_the_window_Then_it_waits_and_its_checks_are_made_once_the_window_closes()
    {
        var inside = Berlin(28, 12);
        var embargoed = Given(MergingByToken).When(new ObserveEmbargo([Weekend], inside)).Then(new MergeEmbargoed(1, Berlin(30, 8), [Weekend], inside));
        Assert.Equal(Berlin(30, 8), embargoed.EmbargoedUntil);
        IWorkflowEvent[] waiting = [.. MergingByToken, new MergeEmbargoed(1, Berlin(30, 8), [Weekend], inside)];
        // Asked again inside the window: nothing new. After it: the full check, as for any merge.
        Given(waiting).When(new ObserveEmbargo([Weekend], Berlin(29, 23))).ThenNothing();
        Assert.IsType<PermissionChecked>(Assert.Single(Given(waiting).When(MergeCheck(Berlin(30, 8, 1))).ThenEvents()));
    }

    [Fact]
    public void Given_a_merge_waiting_out_a_window_When_the_policy_drops_the_embargo_Then_the_wait_ends_now_on_record_and_its_checks_are_made()
    {
        IWorkflowEvent[] waiting = [.. MergingByToken, new MergeEmbargoed(1, Berlin(30, 8), [Weekend], Berlin(28, 12))];

        var lifted = Given(waiting).When(new ObserveEmbargo(null, Berlin(28, 13))).Then(new MergeEmbargoed(1, Berlin(28, 13), [], Berlin(28, 13)));

        Assert.Equal(Berlin(28, 13), lifted.EmbargoedUntil);
        Assert.IsType<PermissionChecked>(Assert.Single(Given([.. waiting, new MergeEmbargoed(1, Berlin(28, 13), [], Berlin(28, 13))])
            .When(MergeCheck(Berlin(28, 13, 1))).ThenEvents()));
        // A window moved rather than dropped: the wait takes its new end.
        var shorter = new EmbargoWindow("Fri 18:00", "Sat 08:00", "Europe/Berlin");
        Assert.Equal(Berlin(28, 8), Assert.IsType<MergeEmbargoed>(Assert.Single(Given([.. MergingByToken, new MergeEmbargoed(1, Berlin(30, 8), [Weekend], Berlin(27, 19))])
            .When(new ObserveEmbargo([shorter], Berlin(27, 20))).ThenEvents())).Until);
        Assert.True(WorkflowReplay.Run([.. waiting, new MergeEmbargoed(1, Berlin(28, 13), [], Berlin(28, 13))]).Consistent);
    }

    [Fact]
    public void Given_an_embargoed_merge_When_the_weekend_passes_Then_no_step_deadline_ends_it_and_its_clock_starts_at_the_window_end()
    {
        IWorkflowEvent[] waiting = [.. MergingByToken, new MergeEmbargoed(1, Berlin(30, 8), [Weekend], Berlin(28, 12))];
        var clock = new ClockReading(30, 60);
        Given(waiting).When(new ObserveClock(clock, Berlin(30, 7))).ThenNothing();
        Given(waiting).When(new ObserveClock(clock, Berlin(30, 8, 29))).ThenNothing();
        Assert.IsType<StepTimedOut>(Given(waiting).When(new ObserveClock(clock, Berlin(30, 8, 31))).ThenEvents()[0]);
    }
}

public sealed class EmbargoAtMergeCallTests
{
    private static readonly EmbargoWindow Weekend = new("Fri 18:00", "Mon 08:00", "Europe/Berlin");

    [Fact]
    public void Given_checks_made_just_before_a_window_When_the_merge_call_comes_inside_it_Then_it_waits_and_the_checks_are_made_again_after()
    {
        var checkedAt = new DateTimeOffset(2026, 11, 27, 17, 59, 58, TimeSpan.FromHours(1));
        IWorkflowEvent[] ready = [.. Histories.Merging, new PermissionChecked(1, PermissionCheckpoint.Merge, 1, null, null, [], true, "ok", checkedAt, "main")];
        var inside = checkedAt.AddSeconds(10);

        var state = DeciderSpec.Given(ready).When(new ObserveEmbargo([Weekend], inside))
            .Then(new MergeEmbargoed(1, new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.FromHours(1)), [Weekend], inside));

        Assert.False(state.PermissionChecked(PermissionCheckpoint.Merge));
        DeciderSpec.Given(ready).When(new ObserveEmbargo([Weekend], checkedAt.AddSeconds(-10))).ThenNothing();
    }

    [Theory]
    [InlineData(null, "Mon 08:00", "UTC")]
    [InlineData("Fri 18:00", "Mon 08:00", null)]
    [InlineData("Fri 18:00", "Mon 08:00", "America")]
    public void Given_a_window_with_missing_or_odd_fields_When_validated_Then_it_is_refused_not_thrown(string? from, string to, string? zone) =>
        Assert.NotEmpty(new ProjectPolicy(Embargo: [new EmbargoWindow(from!, to, zone!)]).Validate());

    [Fact]
    public void Given_no_window_at_all_When_validated_Then_it_is_refused_not_thrown() =>
        Assert.NotEmpty(new ProjectPolicy(Embargo: [null!]).Validate());
}
