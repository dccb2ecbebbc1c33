using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// Before our pipeline runs in the target project, the decider chooses which stale tags are deleted (never one a head in
/// use names for that image) on what the shell saw, and holds the shell's report of what it deleted to that choice.
/// </summary>
public sealed class StaleTagsTests
{
    private const string Upstream = "mesa/mesa";
    private static readonly string Name = StaleBuildImage.Name, Tag = StaleBuildImage.Tag;
    private static readonly string Ours = $"{Upstream}/{Name}:{Tag}";

    private static ObserveStaleTags Seen(params ImageTagInUse[] inUse) => new(Upstream, inUse, At(4));

    private static ImageTagInUse OnMain(string? tag) => new(Name, "main", TargetSha, tag);

    [Fact]
    public void Given_a_stale_image_no_head_in_use_names_When_observed_Then_its_tag_is_chosen_for_deletion_on_record()
    {
        var state = Given(Building).When(Seen(OnMain("20261101-base"), new ImageTagInUse(Name, "release/26.0", "c3c3", "20261001-rel")))
            .Then(new StaleTagsChosen(1, 1, Upstream, [OnMain("20261101-base"), new ImageTagInUse(Name, "release/26.0", "c3c3", "20261001-rel")], [Ours], At(4)));

        Assert.Equal([Ours], state.StaleTags!.Delete);
        // Once chosen, a look again (a retry before the deletion was recorded) changes nothing.
        Given([.. Building, state.StaleTags]).When(Seen()).ThenNothing();
    }

    [Fact]
    public void Given_a_stale_image_When_a_protected_branch_names_its_tag_Then_it_is_not_chosen()
    {
        var chosen = Given(Building).When(Seen(OnMain("20261101-base"), new ImageTagInUse(Name, "release/26.0", "c3c3", Tag))).ThenEvents();

        Assert.Empty(Assert.IsType<StaleTagsChosen>(Assert.Single(chosen)).Delete);
    }

    [Fact]
    public void Given_a_choice_When_the_shell_reports_deleting_a_tag_not_chosen_Then_it_is_refused_and_the_chosen_ones_are_recorded()
    {
        IWorkflowEvent[] chosen = [.. Building, new StaleTagsChosen(1, 1, Upstream, [OnMain("20261101-base")], [Ours], At(4))];

        var refused = Given(chosen).When(new RecordPipelinePrepared([], [$"{Upstream}/{Name}:20261101-base"], At(5))).ThenRejected(RejectionKind.InvalidInput);
        Assert.Contains("20261101-base", refused.Reason);
        Given(chosen).When(new RecordPipelinePrepared([], [Ours], At(5))).Then(new PipelinePrepared(1, [], [Ours], At(5), ReadAfterAnyEnd: true));
        // A repeat after a crash finds the tag gone already: nothing deleted now, which is no breach of the choice.
        Given(chosen).When(new RecordPipelinePrepared([], [], At(5))).Then(new PipelinePrepared(1, [], [], At(5), ReadAfterAnyEnd: true));
    }

    [Theory]
    [InlineData("main", "main")]
    [InlineData("t5", "main")]
    public void Given_a_same_project_mr_whose_pipeline_forces_a_rebuild_When_another_branch_names_the_stale_tag_Then_the_attempt_fails_before_any_pipeline(
        string target, string other)
    {
        var state = Fold(Building) with { TargetBranch = target };
        var otherBranch = other == target ? "release/26.0" : other;

        var events = WorkflowDecider.Decide(new ObserveStaleTags(Upstream, [OnMain("20261101-base") with { Branch = target }, new(Name, otherBranch, "c3c3", Tag)], At(4), Forced: true), state).Events;

        var chosen = Assert.IsType<StaleTagsChosen>(events[0]);
        Assert.Equal((true, 0), (chosen.Forced, chosen.Delete.Count));
        Assert.Equal($"{Name}:{Tag} is stale and `{otherBranch}` uses the same tag: rebuilding it for `{target}` would replace `{otherBranch}`'s image. " +
            "Give it a tag of its own on this branch, then ask again", Assert.IsType<AttemptFailed>(events[^1]).Reason);
    }

    [Fact]
    public void Given_a_forced_rebuild_When_only_the_target_branch_names_the_stale_tag_Then_it_goes_on_and_deletes_nothing()
    {
        var state = Fold(Building) with { TargetBranch = "main" };

        var events = WorkflowDecider.Decide(new ObserveStaleTags(Upstream, [OnMain(Tag), new(Name, "release/26.0", "c3c3", "20261001-rel")], At(4), Forced: true), state).Events;

        Assert.Equal([], Assert.IsType<StaleTagsChosen>(Assert.Single(events)).Delete);
        // Not forced (a fork's pipeline), the same sight deletes nothing either: the tag is in use, so it is kept.
        Assert.Empty(Assert.IsType<StaleTagsChosen>(Assert.Single(WorkflowDecider.Decide(
            new ObserveStaleTags(Upstream, [OnMain(Tag)], At(4)), state).Events)).Delete);
    }

    [Fact]
    public void Given_a_new_rebase_When_it_starts_Then_the_choice_of_the_last_is_forgotten()
    {
        var state = Fold([.. Building, new StaleTagsChosen(1, 1, Upstream, [], [Ours], At(4)), new RebaseStarted(1, 2, "target branch moved", At(5))]);

        Assert.Null(state.StaleTags);
    }

    [Fact]
    public void Given_recorded_choices_When_replayed_Then_each_is_made_again_from_what_was_seen_and_a_forged_one_is_caught()
    {
        var chosen = new StaleTagsChosen(1, 1, Upstream, [OnMain("20261101-base")], [Ours], At(4));
        Assert.True(WorkflowReplay.Run([.. Building, chosen, new PipelinePrepared(1, [], [Ours], At(5), ReadAfterAnyEnd: true)]).Consistent);

        // Deleting the tag main names: no rule of today's chooses that.
        var forged = chosen with { InUse = [OnMain(Tag)] };
        var differing = Assert.Single(WorkflowReplay.Run([.. Building, forged]).Decisions, d => !d.Same);
        Assert.Equal(nameof(ObserveStaleTags), differing.Command);
        Assert.Empty(Assert.IsType<StaleTagsChosen>(Assert.Single(differing.Decided)).Delete);
    }

    [Fact]
    public void Given_a_stream_from_before_the_choice_was_recorded_When_replayed_Then_its_deletions_are_taken_as_recorded()
    {
        Assert.True(WorkflowReplay.Run([.. Building, new PipelinePrepared(1, [], [Ours], At(5), ReadAfterAnyEnd: true)]).Consistent);
    }
}
