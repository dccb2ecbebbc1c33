using Orchestrator.Domain;
using Orchestrator.Statistics;
using Xunit;

namespace Orchestrator.Tests.Statistics;

/// <summary>The statistics panel's figures from a handful of streams whose answers are worked out by hand below.</summary>
public sealed class StatisticsCalculatorTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset From = Day1;
    private static readonly DateTimeOffset To = Day1.AddDays(2).AddHours(23);

    private static DateTimeOffset At(int day, int hour, int minute = 0) => Day1.AddDays(day).AddHours(hour).AddMinutes(minute);

    private static ImageAssessment Image(string name, FreshnessVerdict verdict) => new(name, "t", verdict, null, "");

    /// <summary>
    /// a: asked on day 0 at 10:00, CI 10:05→10:25 success, merged 10:40 (40 min). b: attempt 1 fails in CI (11:00→11:30 failed),
    /// attempt 2 asked on day 1 at 09:00, CI 09:10→09:20, merged 10:00 (60 min). c: asked the day before the window at 22:00, merged on day 1
    /// at 01:00 (27 h). d: times out and is refused a merge by GitLab. e: merged outside the window, counted nowhere.
    /// </summary>
    private static List<StreamEvent> Streams() =>
    [
        new("mr-1-1", new MergeRequested(1, "x", At(0, 10), null)),
        new("mr-1-1", new FreshnessChecked(1, "s", [Image("build", FreshnessVerdict.Missing), Image("test", FreshnessVerdict.Upstream)], false, At(0, 10, 2))),
        new("mr-1-1", new PipelineCreated(1, 100, "s", true, At(0, 10, 5))),
        new("mr-1-1", new PipelineObserved(1, 100, "running", At(0, 10, 6))),
        new("mr-1-1", new PipelineObserved(1, 100, "success", At(0, 10, 25))),
        new("mr-1-1", new Merged(1, "m1", At(0, 10, 40))),

        new("mr-1-2", new MergeRequested(1, "x", At(0, 10, 50), null)),
        new("mr-1-2", new FreshnessChecked(1, "s", [Image("build", FreshnessVerdict.Fresh), Image("test", FreshnessVerdict.Unbumped)], false, At(0, 10, 55))),
        new("mr-1-2", new PipelineCreated(1, 101, "s", false, At(0, 11))),
        new("mr-1-2", new PipelineObserved(1, 101, "failed", At(0, 11, 30))),
        new("mr-1-2", new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(0, 11, 30))),
        new("mr-1-2", new MergeRequested(2, "x", At(1, 9), null)),
        new("mr-1-2", new FreshnessChecked(2, "s", [Image("build", FreshnessVerdict.Stale)], false, At(1, 9, 5))),
        new("mr-1-2", new PipelineCreated(2, 102, "s", false, At(1, 9, 10))),
        new("mr-1-2", new PipelineObserved(2, 102, "success", At(1, 9, 20))),
        // The same success seen again by a poll after the webhook: no second CI run.
        new("mr-1-2", new PipelineObserved(2, 102, "success", At(1, 9, 50))),
        new("mr-1-2", new Merged(2, "m2", At(1, 10))),

        new("mr-2-7", new MergeRequested(1, "x", At(-1, 22), null)),
        new("mr-2-7", new Merged(1, "m3", At(1, 1))),

        new("mr-2-8", new MergeRequested(1, "x", At(1, 12), null)),
        new("mr-2-8", new AttemptFailed(1, WorkflowState.Building, "CI is taking too long.", At(1, 13))),
        new("mr-2-8", new MergeRequested(2, "x", At(1, 14), null)),
        new("mr-2-8", new AttemptFailed(2, WorkflowState.Merging, "GitLab refused the merge (405): Method Not Allowed", At(1, 15))),

        new("mr-2-9", new MergeRequested(1, "x", At(-3, 8), null)),
        new("mr-2-9", new Merged(1, "m4", At(-2, 8))),
    ];

    [Fact]
    public void Given_merges_over_three_days_When_computed_Then_each_day_counts_the_merges_made_on_it()
    {
        var stats = StatisticsCalculator.Compute(Streams(), From, To);
        Assert.Equal([new DayCount(new DateOnly(2026, 3, 2), 1), new DayCount(new DateOnly(2026, 3, 3), 2), new DayCount(new DateOnly(2026, 3, 4), 0)],
            stats.LandingsPerDay);
    }

    [Fact]
    public void Given_landings_of_40_minutes_an_hour_and_27_hours_When_computed_Then_time_to_land_pairs_each_merge_with_its_own_attempts_request()
    {
        var stats = StatisticsCalculator.Compute(Streams(), From, To);
        // b's second attempt lands an hour after its own request, not 23 h after the first; c's request precedes the window.
        Assert.Equal(new DurationSummary(3, 60 * 60, 27 * 3600), stats.TimeToLand);
    }

    [Fact]
    public void Given_three_finished_pipelines_When_computed_Then_ci_time_runs_from_creation_to_the_first_success_or_failure()
    {
        var stats = StatisticsCalculator.Compute(Streams(), From, To);
        // 20 min, 30 min, 10 min: the median is 20 min, the 95th the longest.
        Assert.Equal(new DurationSummary(3, 20 * 60, 30 * 60), stats.CiTime);
    }

    [Fact]
    public void Given_failed_attempts_When_computed_Then_their_reasons_are_counted_by_class()
    {
        var stats = StatisticsCalculator.Compute(Streams(), From, To);
        Assert.Equal([new ReasonCount("CI failed", 1), new ReasonCount("CI timed out", 1), new ReasonCount("merge refused", 1)], stats.FailureReasons);
    }

    [Fact]
    public void Given_freshness_verdicts_When_computed_Then_stale_and_missing_are_rebuilt_upstream_and_fresh_reused_unbumped_neither()
    {
        var stats = StatisticsCalculator.Compute(Streams(), From, To);
        Assert.Equal(new ImageCounts(Rebuilt: 2, Reused: 2), stats.Images);
    }

    [Fact]
    public void Given_no_event_When_computed_Then_every_day_is_zero_and_no_percentile_is_made_up()
    {
        var stats = StatisticsCalculator.Compute([], From, To);
        Assert.Equal(3, stats.LandingsPerDay.Count);
        Assert.All(stats.LandingsPerDay, d => Assert.Equal(0, d.Merged));
        Assert.Equal(new DurationSummary(0, null, null), stats.TimeToLand);
        Assert.Equal(new DurationSummary(0, null, null), stats.CiTime);
        Assert.Empty(stats.FailureReasons);
    }

    [Theory]
    [InlineData(new double[] { 5 }, 5, 5)]
    [InlineData(new double[] { 4, 1, 3, 2 }, 2, 4)]
    [InlineData(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21 }, 11, 20)]
    public void Given_durations_When_summarized_Then_percentiles_are_nearest_rank_values(double[] seconds, double p50, double p95) =>
        Assert.Equal(new DurationSummary(seconds.Length, p50, p95), StatisticsCalculator.Summarize(seconds));

    [Theory]
    [InlineData("Someone canceled the CI.", WorkflowState.Building, "CI cancelled")]
    [InlineData("Merge conflict: could not rebase", WorkflowState.Rebasing, "merge conflict")]
    [InlineData(WorkflowDecider.SomeonePushed, WorkflowState.Merging, "target moved")]
    [InlineData("the building step made no progress for 30 minutes, the policy's stepTimeoutMinutes", WorkflowState.Building, "step timed out")]
    [InlineData("The images could not be verified: a; b.", WorkflowState.Verifying, "images not verified")]
    [InlineData("promoting x:1 produced sha256:a, not the verified sha256:b", WorkflowState.Promoting, "failed while promoting")]
    public void Given_a_reason_When_classed_Then_it_is_a_few_words(string reason, WorkflowState step, string expected) =>
        Assert.Equal(expected, FailureClass.Of(new AttemptFailed(1, step, reason, Day1)));

    [Theory]
    [InlineData("mr-278964-1203", 278964L)]
    [InlineData("mr-x-1", null)]
    [InlineData("queue-1-main", null)]
    public void Given_a_stream_name_When_read_Then_its_project_is_found(string stream, long? project) =>
        Assert.Equal(project, StatisticsQuery.ProjectOf(stream));
}
