using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// After an attempt that did not merge, the decider chooses from what the shell saw whether an image our pipeline built
/// upstream goes, records the choice with the observation, and accepts a deletion only of the digest it chose.
/// </summary>
public sealed class UpstreamCleanupTests
{
    private const string Name = "debian/x86_64_build", Tag = "20261128-A", Repo = "mesa/mesa/" + Name;
    private const string Other = "sha256:8888888888888888888888888888888888888888888888888888888888888888";
    private const long Iid = 3;

    private static IWorkflowEvent[] Failed =>
    [
        .. Building,
        new PipelinePrepared(1, [], [], At(4)),
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), 17),
        new PipelineObserved(1, Pipeline, "failed", At(30)),
        new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(30)),
    ];

    /// <summary>Main names another tag; the tag holds our build, labelled with our pipeline, which the bot created for our MR.</summary>
    private static CleanupObservation Seen(
        string? head = TargetSha, IReadOnlyList<BranchTag>? used = null, RegistryImage? current = null, LabelledPipeline? pipeline = null) =>
        new(Repo, "main", head, used ?? [new BranchTag("main", TargetSha, "20261101-base"), new BranchTag("release/26.0", "c3c3", "20261001-rel")],
            current ?? new RegistryImage(Digest, RebasedSha, Pipeline, 5),
            pipeline ?? new LabelledPipeline(Pipeline, true, "marge-bot", $"refs/merge-requests/{Iid}/head"), "marge-bot", ["feature"], Iid);

    private static ObserveCleanup Observe(CleanupObservation seen, int minute = 31) => new(Name, Tag, seen, At(minute));

    public static TheoryData<string, CleanupObservation> Kept() => new()
    {
        { "is gone", Seen(head: null) },
        { "release/26.0 (at c3c3) uses", Seen(used: [new BranchTag("main", TargetSha, "20261101-base"), new BranchTag("release/26.0", "c3c3", Tag)]) },
        { "main (at ", Seen(used: [new BranchTag("main", TargetSha, Tag)]) },
        { "never pushed it", Seen() with { Current = null, Pipeline = null } },
        { "another car's", Seen(pipeline: new LabelledPipeline(Pipeline, true, "Marge-Bot", "orchestrator/train/main/7")) },
    };

    [Theory]
    [MemberData(nameof(Kept))]
    public void Given_a_failed_attempt_that_built_upstream_When_what_is_seen_is_not_ours_to_take_Then_it_is_kept_and_done_with(string why, CleanupObservation seen)
    {
        var events = Given(Failed).When(Observe(seen)).ThenEvents();

        var chosen = Assert.IsType<UpstreamCleanupChosen>(events[0]);
        Assert.False(chosen.Choice.Delete);
        Assert.Contains(why, chosen.Choice.Reason);
        Assert.Same(seen, chosen.Observation);
        Assert.Equal(new UpstreamImageCleaned(1, Name, Tag, false, At(31)), events[1]);
        Assert.Empty(events.Aggregate(Fold(Failed), WorkflowEvolver.Evolve).PendingCleanup);
    }

    public static TheoryData<CleanupObservation> Deleted() => new()
    {
        Seen(),
        // Another ref, but not the bot's pipeline: anyone who may run pipelines could have pushed it.
        Seen(pipeline: new LabelledPipeline(Pipeline, true, "mallory", "orchestrator/train/main/7")),
        // The bot's pipeline for this merge request's own branch.
        Seen(pipeline: new LabelledPipeline(Pipeline, true, "marge-bot", "feature")),
        // Labels naming no pipeline of the project, or none at all: nothing shows it is another car's (fail closed).
        Seen(pipeline: new LabelledPipeline(Pipeline, false)),
        Seen(current: new RegistryImage(Other, "c0ffee", null, null)) with { Pipeline = null },
        // The labels name another pipeline than the one looked up: it says nothing of this image.
        Seen(pipeline: new LabelledPipeline(Pipeline + 1, true, "marge-bot", "orchestrator/train/main/7")),
    };

    [Theory]
    [MemberData(nameof(Deleted))]
    public void Given_a_failed_attempt_that_built_upstream_When_the_tag_holds_an_image_no_one_else_may_claim_Then_it_is_chosen_for_deletion_at_its_digest(
        CleanupObservation seen)
    {
        var state = Given(Failed).When(Observe(seen))
            .Then(new UpstreamCleanupChosen(1, Name, Tag, seen, UpstreamCleanups.Choose(new ImageState(Name, Tag, FreshnessVerdict.Stale, null), seen), At(31)));

        var pending = Assert.Single(state.PendingCleanup);
        Assert.Equal((true, seen.Current!.Digest), (pending.Cleanup!.Delete, pending.Cleanup.Digest));
        Assert.True(state.NeedsWork);
        // Seen again (a retry before the deletion is recorded): the choice stands.
        Given([.. Failed, new UpstreamCleanupChosen(1, Name, Tag, seen, pending.Cleanup, At(31))]).When(Observe(Seen(head: null), 32)).ThenNothing();
    }

    private static IWorkflowEvent[] Chosen => [.. Failed, new UpstreamCleanupChosen(1, Name, Tag, Seen(), new CleanupChoice(true, Digest, "ours"), At(31))];

    [Fact]
    public void Given_a_choice_to_delete_When_the_shell_deleted_that_digest_or_found_the_tag_gone_or_moved_Then_it_is_recorded_and_done_with()
    {
        var done = Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, true, At(32), Digest))
            .Then(new UpstreamImageCleaned(1, Name, Tag, true, At(32), Digest));
        Assert.Empty(done.PendingCleanup);
        // After a crash the tag is found gone; or someone pushed another image since, which stays.
        Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, false, At(32))).Then(new UpstreamImageCleaned(1, Name, Tag, false, At(32)));
        Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, false, At(32), Other)).Then(new UpstreamImageCleaned(1, Name, Tag, false, At(32), Other));
    }

    [Fact]
    public void Given_a_choice_to_delete_one_digest_When_the_shell_says_it_deleted_another_Then_it_is_refused()
    {
        var refused = Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, true, At(32), Other)).ThenRejected(RejectionKind.InvalidInput);

        Assert.Contains($"only while it holds {Digest}", refused.Reason);
    }

    [Fact]
    public void Given_a_choice_left_from_an_ended_attempt_When_the_next_attempt_starts_Then_its_own_end_looks_again()
    {
        var state = Fold([.. Chosen, new MergeRequested(2, "marge", At(40))]);

        Assert.Null(Assert.Single(state.PendingCleanup).Cleanup);
    }

    [Fact]
    public void Given_recorded_cleanups_When_replayed_Then_the_choice_is_made_again_from_its_observation_and_a_forged_one_is_caught()
    {
        var kept = WorkflowDecider.Decide(Observe(Seen(used: [new BranchTag("main", TargetSha, Tag)])), Fold(Failed)).Events;
        Assert.True(WorkflowReplay.Run([.. Failed, .. kept]).Consistent);
        IWorkflowEvent[] deleted = [.. Failed, .. WorkflowDecider.Decide(Observe(Seen()), Fold(Failed)).Events, new UpstreamImageCleaned(1, Name, Tag, true, At(32), Digest)];
        Assert.True(WorkflowReplay.Run(deleted).Consistent);

        // A deletion recorded over an observation in which main uses the tag: today's rule keeps it.
        var forged = Assert.IsType<UpstreamCleanupChosen>(deleted[Failed.Length]) with { Observation = Seen(used: [new BranchTag("main", TargetSha, Tag)]) };
        var replay = WorkflowReplay.Run([.. Failed, forged]);
        var differing = Assert.Single(replay.Decisions, d => !d.Same);
        Assert.Equal(nameof(ObserveCleanup), differing.Command);
        Assert.False(Assert.IsType<UpstreamCleanupChosen>(differing.Decided[0]).Choice.Delete);
    }

    [Fact]
    public void Given_a_stream_from_before_choices_were_recorded_When_replayed_Then_its_cleanup_is_taken_as_recorded()
    {
        IWorkflowEvent[] old = [.. Failed, new UpstreamImageCleaned(1, Name, Tag, true, At(31))];

        Assert.True(WorkflowReplay.Run(old).Consistent);
        Assert.Empty(Fold(old).PendingCleanup);
    }
}
