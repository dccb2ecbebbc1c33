using Orchestrator.Domain;
using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A car of an image-aware train, in its own decider: the builder's push counts only by a digest labelled with its
/// pipeline and commit; a car testing on a tag the train built must find it usable at that digest and run on it.
/// </summary>
public sealed class TrainCarImagesTests
{
    private const string Target = "1111111111111111111111111111111111111111";
    private const string AheadHead = "2222222222222222222222222222222222222222";
    private const string Ours = "3333333333333333333333333333333333333333";
    private const string Image = "debian/x86_64_build";
    private const string Tag = "20261130-t";
    private const string Key = $"{Image}:{Tag}";
    private static readonly string Built = "sha256:" + new string('a', 64);
    private static readonly string Other = "sha256:" + new string('b', 64);

    private static TrainSeat Seat(CarImages images) => new("main", "car-2", [1], AheadHead, false, Images: images);

    private static IWorkflowEvent[] Rebased(CarImages images) =>
    [
        .. Queued,
        new TrainCarAssigned(1, Seat(images), Target, AheadHead, "car 2", null, At(1)),
        new RebaseStarted(1, 1, "car 2", At(1)),
        new TrainCarAnnounced(1, "car-2", 77, At(2)),
        new Orchestrator.Domain.Rebased(1, Ours, AheadHead, At(3)),
    ];

    private static ImageAssessment Checked(FreshnessVerdict verdict, string? digest) => new(Image, Tag, verdict, AheadHead, "as checked", digest);

    private static IWorkflowEvent[] Building(CarImages images, ImageAssessment image) =>
        [.. Rebased(images), new FreshnessChecked(1, Ours, [image], false, At(4)), new PipelineCreated(1, Pipeline, Ours, false, At(5))];

    private static IWorkflowEvent[] Builder => Building(new CarImages([Key], [], []), Checked(FreshnessVerdict.Missing, null));

    private static ObserveCarImages Seen(string? digest, string? commit, long? pipeline, string job, int minute = 6) =>
        new([new CarImageSeen(Image, Tag, digest, digest is null ? null : new RegistryImage(digest, commit, pipeline, 9), job)], At(minute));

    [Fact]
    public void Given_the_car_building_a_tag_When_the_registry_shows_it_labelled_with_its_pipeline_and_commit_Then_the_push_is_recorded_once()
    {
        Assert.Equal([Key], TrainCarImages.Watched(Fold(Builder)));
        DeciderSpec.Given(Builder).When(Seen(null, null, null, "running")).ThenNothing();
        // Someone else's image under the tag (another pipeline, another commit) is not our build.
        DeciderSpec.Given(Builder).When(Seen(Other, Ours, Pipeline + 1, "running")).ThenNothing();
        DeciderSpec.Given(Builder).When(Seen(Other, Target, Pipeline, "running")).ThenNothing();

        var seen = Seen(Built, Ours, Pipeline, "running");
        var s = DeciderSpec.Given(Builder).When(seen).Then(new TrainCarImagesSeen(1, seen.Seen, [new ImageDigest(Key, Built)], [], At(6)));

        Assert.Equal([new ImageDigest(Key, Built)], TrainCarImages.Pushes(s));
        Assert.Empty(TrainCarImages.Watched(s));
        DeciderSpec.Given([.. Builder, .. WorkflowDecider.Decide(seen, Fold(Builder)).Events]).When(Seen(Built, Ours, Pipeline, "success", 7)).ThenNothing();
    }

    [Fact]
    public void Given_the_car_building_a_tag_When_its_push_was_not_seen_before_the_pipeline_ended_Then_verification_s_digest_is_owed()
    {
        var verified = Fold([.. Builder, new PipelineObserved(1, Pipeline, "success", At(20)),
            new BuildVerified(1, AheadHead, [new BuiltImage(Image, Tag, Built, Ours, Pipeline)], At(21))]);

        Assert.Equal([new ImageDigest(Key, Built)], TrainCarImages.Pushes(verified));
    }

    [Fact]
    public void Given_the_car_building_a_tag_When_its_container_job_failed_Then_the_failed_build_is_recorded_for_the_train()
    {
        var seen = Seen(null, null, null, "failed");
        var s = DeciderSpec.Given(Builder).When(seen).Then(new TrainCarImagesSeen(1, seen.Seen, [], [Key], At(6)));

        Assert.Equal([Key], s.CarImages!.Failed);
        Assert.Empty(TrainCarImages.Pushes(s));
        Assert.Empty(TrainCarImages.Watched(s));
    }

    [Fact]
    public void Given_the_car_building_a_tag_When_its_check_found_the_tag_usable_Then_it_owes_the_train_that_digest_without_building()
    {
        var s = Fold(Building(new CarImages([Key], [], []), Checked(FreshnessVerdict.Upstream, Built)));

        Assert.Equal([new ImageDigest(Key, Built)], TrainCarImages.Pushes(s));
        Assert.Empty(TrainCarImages.Watched(s));
        // Before this rebase's check, an earlier verdict says nothing of the car's head.
        Assert.Empty(TrainCarImages.Pushes(Fold(Rebased(new CarImages([Key], [], [])))));
    }

    [Fact]
    public void Given_the_car_building_a_tag_When_the_tag_is_only_fresh_for_its_pre_rebase_commit_Then_it_is_rebuilt_from_the_car_s_head_for_the_cars_behind()
    {
        // Built by the merge request's branch pipeline from its own commit, on top of the target: fresh for a serial attempt,
        // but in no car's history once rebased.
        var branchBuilt = new RegistryImage(Built, "5555555555555555555555555555555555555555", 40, 41);
        var seen = new ImageObservation(Image, Tag, "20261101-base", false, null, false, branchBuilt, false, false, false,
            new ImageHistory(AheadHead, null, AheadHead, new SourceJob("success", 40, branchBuilt.Commit), branchBuilt.Commit, branchBuilt.Commit, ForkPipelinesRun: false));
        Assert.Equal(FreshnessVerdict.Fresh, Freshness.Assess(seen).Verdict);

        var builder = DeciderSpec.Given(Rebased(new CarImages([Key], [], []))).When(new RecordFreshness([seen], false, At(4))).ThenEvents();
        var testsOn = DeciderSpec.Given(Rebased(new CarImages([], [], []))).When(new RecordFreshness([seen], false, At(4))).ThenEvents();

        Assert.Equal(FreshnessVerdict.Stale, Assert.IsType<FreshnessChecked>(Assert.Single(builder)).Images[0].Verdict);
        Assert.Equal(FreshnessVerdict.Fresh, Assert.IsType<FreshnessChecked>(Assert.Single(testsOn)).Images[0].Verdict);
        var policy = new ProjectPolicy([new ImagePolicy(Image, "tags.yml", "TAG", [])], "mesa/mesa", 0, 10, 3, false);
        Assert.Equal(["FDO_FORCE_REBUILD"], ForceVariables.For(Fold([.. Rebased(new CarImages([Key], [], [])), .. builder]).Images, policy).Keys);
    }

    [Theory]
    [InlineData(FreshnessVerdict.Stale, "would be rebuilt")]
    [InlineData(FreshnessVerdict.Missing, "would be rebuilt")]
    [InlineData(FreshnessVerdict.Upstream, "is sha256:bbbb")]
    public void Given_a_car_testing_on_a_tag_the_train_built_When_its_check_finds_the_tag_otherwise_Then_it_fails_rather_than_build_it_again(
        FreshnessVerdict verdict, string because)
    {
        var testsOn = new CarImages([], [new ImageDigest(Key, Built)], []);
        var check = new RecordFreshness(null, false, At(4), AsRecorded: [Checked(verdict, verdict == FreshnessVerdict.Upstream ? Other : null)]);

        var events = DeciderSpec.Given(Rebased(testsOn)).When(check).ThenEvents();

        Assert.IsType<FreshnessChecked>(events[0]);
        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.StartsWith("The merge train's images cannot be used as built", failed.Reason);
        Assert.Contains(because, failed.Reason);
    }

    [Fact]
    public void Given_a_car_testing_on_a_tag_the_train_built_When_its_check_finds_that_digest_Then_it_builds_with_no_force_for_it()
    {
        var testsOn = new CarImages([], [new ImageDigest(Key, Built)], []);
        var s = DeciderSpec.Given(Rebased(testsOn)).When(new RecordFreshness(null, false, At(4), AsRecorded: [Checked(FreshnessVerdict.Upstream, Built)]))
            .ThenEvents();

        Assert.IsType<FreshnessChecked>(Assert.Single(s));
        var state = Fold([.. Rebased(testsOn), .. s]);
        Assert.Equal(WorkflowState.Building, state.State);
        Assert.Empty(ForceVariables.For(state.Images, new ProjectPolicy([new ImagePolicy(Image, "tags.yml", "TAG", [])], "mesa/mesa", 0, 10, 3, false)));
    }

    [Fact]
    public void Given_a_car_held_to_the_train_s_digests_When_its_jobs_ran_on_another_Then_verification_names_the_difference()
    {
        var s = Fold(Building(new CarImages([], [new ImageDigest(Key, Built)], []), Checked(FreshnessVerdict.Upstream, Built)));

        Assert.Empty(TrainCarImages.VerificationProblems(s, [new BuiltImage(Image, Tag, Built, AheadHead, 41)]));
        Assert.Contains($"not as the {Built} the merge train built", Assert.Single(TrainCarImages.VerificationProblems(s,
            [new BuiltImage(Image, Tag, Other, AheadHead, 41)])));
        Assert.Single(TrainCarImages.VerificationProblems(s, []));
        // A car outside an image-aware train is held to nothing more than any attempt.
        Assert.Empty(TrainCarImages.VerificationProblems(Fold(BuildingWithPipeline), []));
    }

    [Fact]
    public void Given_a_request_still_waiting_for_a_car_When_the_train_takes_it_out_because_its_image_failed_to_build_Then_its_attempt_fails_untested()
    {
        const string why = $"it needs {Key}, whose build failed in car-2 (!4)";
        var untested = new ObserveTrain(new TrainSeat("main", null, [], null, false, Rejected: why, Images: CarImages.None with { FailedBuild = why }),
            Target, At(9));

        var events = DeciderSpec.Given(Queued).When(untested).ThenEvents();

        Assert.IsType<TrainCarRejected>(events[0]);
        Assert.Equal($"CI failed! (the merge train of `main`: {why})", Assert.IsType<AttemptFailed>(events[1]).Reason);
        // Any other verdict on a request that never rode was about no test of it.
        DeciderSpec.Given(Queued).When(untested with { Seat = untested.Seat with { Images = null } }).ThenNothing();
    }

    [Fact]
    public void Given_tag_files_read_at_a_merge_request_s_head_and_the_target_s_When_compared_Then_only_a_different_tag_is_a_bump() =>
        Assert.Equal(["a:T2", "d:new"], TrainCarImages.Bumps([new("a", "T2", "T1"), new("b", "T", "T"), new("c", null, "x"), new("d", "new", null)]));

    [Fact]
    public void Given_a_recorded_builder_history_When_replayed_Then_every_decision_is_the_same()
    {
        var stream = new List<IWorkflowEvent>(Queued);
        void Decide(WorkflowCommand c) => stream.AddRange(WorkflowDecider.Decide(c, Fold(stream)).Events);
        Decide(new ObserveTrain(Seat(new CarImages([Key], [], [])), Target, At(1)));
        Decide(new RecordCarNote("car-2", 77, At(2)));
        Decide(RecordRebase.Landed(Ours, AheadHead, At(3)));
        Decide(new RecordFreshness(null, false, At(4), AsRecorded: [Checked(FreshnessVerdict.Missing, null)]));
        Decide(new RecordPipeline(Pipeline, Ours, false, At(5)));
        Decide(Seen(Built, Ours, Pipeline, "running"));
        Decide(new ObservePipeline(Pipeline, "success", At(8)));

        Assert.Contains(stream, e => e is TrainCarImagesSeen);
        var report = WorkflowReplay.Run(stream);
        Assert.True(report.Consistent, string.Join("; ", report.Decisions.Where(d => !d.Same).Select(d => $"{d.Version} {d.Command}")));
    }
}
