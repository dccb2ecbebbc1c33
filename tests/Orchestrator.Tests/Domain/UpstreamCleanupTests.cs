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
        new PipelinePrepared(1, [], [], At(4), ReadAfterAnyEnd: true),
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), 17),
        new PipelineObserved(1, Pipeline, "failed", At(30)),
        new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(30)),
    ];

    /// <summary>Main names another tag; the tag holds our build, labelled with our pipeline; no train.</summary>
    private static CleanupObservation Seen(
        string? head = TargetSha, IReadOnlyList<BranchTag>? used = null, RegistryImage? current = null) =>
        new(Repo, "main", head, used ?? [new BranchTag("main", TargetSha, "20261101-base"), new BranchTag("release/26.0", "c3c3", "20261001-rel")],
            current ?? new RegistryImage(Digest, RebasedSha, Pipeline, 5), Iid);

    private const string Key = Name + ":" + Tag;
    private static readonly Orchestrator.Domain.Trains.CarHead TheirCar = new(7, "car-7", "7777"), OurCar = new(Iid, "car-3", RebasedSha);

    /// <summary>In a merge train, the push of <paramref name="digest"/> the train recorded from <paramref name="car"/>.</summary>
    private static CleanupObservation InTrain(string digest, Orchestrator.Domain.Trains.CarHead car) =>
        Seen() with { TrainPushes = [new Orchestrator.Domain.Trains.CarPush(Key, digest, car.CarId)], TrainHeads = [TheirCar, OurCar] };

    private static ObserveCleanup Observe(CleanupObservation seen, int minute = 31) => new(Name, Tag, seen, At(minute));

    public static TheoryData<string, CleanupObservation> Kept() => new()
    {
        { "release/26.0 (at c3c3) uses", Seen(used: [new BranchTag("main", TargetSha, "20261101-base"), new BranchTag("release/26.0", "c3c3", Tag)]) },
        { "main (at ", Seen(used: [new BranchTag("main", TargetSha, Tag)]) },
        { "never pushed it", Seen() with { Current = null } },
        { "the push the merge train recorded of car car-7", InTrain(Digest, TheirCar) },
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
        // The target branch is gone: only the protected branches' tags count, and none names this one.
        Seen(head: null),
        Seen(current: new RegistryImage(Other, "c0ffee", null, null)),
        // Labels are the pushing job's to write (a fork's code, in a fork's merge request): they never keep an image.
        Seen(current: new RegistryImage(Other, "7777", 7777, 9)),
        // In a train: a push our own car reported is ours to take back; another car's push of another digest says nothing
        // of this one; a push by a car no head names is no one's known (fail closed).
        InTrain(Digest, OurCar),
        InTrain(Other, TheirCar),
        InTrain(Digest, new Orchestrator.Domain.Trains.CarHead(9, "car-9", "9999")) with { TrainHeads = [OurCar] },
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
        Given([.. Failed, new UpstreamCleanupChosen(1, Name, Tag, seen, pending.Cleanup, At(31))]).When(Observe(Seen(used: [new BranchTag("main", TargetSha, Tag)]), 32)).ThenNothing();
    }

    private static IWorkflowEvent[] Chosen => [.. Failed, new UpstreamCleanupChosen(1, Name, Tag, Seen(), new CleanupChoice(true, Digest, "ours"), At(31))];

    [Fact]
    public void Given_a_choice_to_delete_When_the_shell_deleted_that_digest_or_found_the_tag_gone_Then_it_is_recorded_and_done_with()
    {
        var done = Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, true, At(32), Digest))
            .Then(new UpstreamImageCleaned(1, Name, Tag, true, At(32), Digest));
        Assert.Empty(done.PendingCleanup);
        // After a crash the tag is found gone.
        Assert.Empty(Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, false, At(32))).Then(new UpstreamImageCleaned(1, Name, Tag, false, At(32))).PendingCleanup);
    }

    [Fact]
    public void Given_a_choice_to_delete_When_another_image_was_pushed_under_the_tag_since_Then_it_is_recorded_and_the_choice_is_made_again()
    {
        var state = Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, false, At(32), Other)).Then(new UpstreamImageCleaned(1, Name, Tag, false, At(32), Other));

        // Nothing judged the new image yet: it stays pending, with no choice, and is observed again.
        Assert.Null(Assert.Single(state.PendingCleanup).Cleanup);
        Assert.True(state.NeedsWork);
        var again = Seen(current: new RegistryImage(Other, "c0ffee", 99, 9));
        var chosen = Assert.IsType<UpstreamCleanupChosen>(Assert.Single(WorkflowDecider.Decide(Observe(again, 33), state).Events));
        Assert.Equal((true, Other), (chosen.Choice.Delete, chosen.Choice.Digest));
    }

    [Fact]
    public void Given_a_choice_to_delete_When_the_tag_still_holds_that_digest_after_the_delete_Then_it_is_refused_and_stays_pending()
    {
        var refused = Given(Chosen).When(new RecordUpstreamCleanup(Name, Tag, false, At(32), Digest)).ThenRejected(RejectionKind.InvalidInput);

        Assert.Contains($"still holds {Digest}", refused.Reason);
        Assert.Equal(Digest, Assert.Single(Fold(Chosen).PendingCleanup).Cleanup!.Digest);
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
