using Orchestrator.Domain;
using Orchestrator.Domain.Trains;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A car's registry guard beside the train's other cars: a tag another car builds may change under it only to a digest
/// the train vouches for (a push it recorded from another car, or an image labelled with another car's head and a
/// pipeline the bot created there). Anything else is tampering, refused with the reason, and replay judges it again.
/// </summary>
public sealed class TrainVouchingTests
{
    private const string Target = "1111111111111111111111111111111111111111";
    private const string AheadHead = "2222222222222222222222222222222222222222";
    private const string Ours = "3333333333333333333333333333333333333333";
    private const string OtherCarHead = "4444444444444444444444444444444444444444";
    private const string Image = "debian/x86_64_build";
    private const string Tag = "20261130-t";
    private const string Key = $"{Image}:{Tag}";
    private const string OtherTag = "20261130-other";
    private const string OtherKey = $"{Image}:{OtherTag}";
    private const string Repo = "mesa/mesa/" + Image;
    private const string Bot = "marge-bot";
    private const long OtherPipeline = 5150;
    private static readonly string Built = "sha256:" + new string('a', 64);
    private static readonly string MainDigest = "sha256:" + new string('b', 64);
    private static readonly string OtherBuild = "sha256:" + new string('c', 64);
    private static readonly string Reference = $"127.0.0.1:5055/{Repo}:{Tag}";
    private static readonly TagDigest MainTag = new(Repo, "20261101-base", MainDigest);

    private static readonly CarHead OtherCar = new(5, "car-3", OtherCarHead);
    private static readonly CarHead OurCar = new(4, "car-2", Ours);

    /// <summary>The car building <see cref="Key"/>, its pipeline passed, decided command by command so that replay re-decides it all.</summary>
    private static IWorkflowEvent[] Recorded(params TagDigest[] before)
    {
        var stream = new List<IWorkflowEvent>(Queued);
        void Decide(WorkflowCommand c) => stream.AddRange(WorkflowDecider.Decide(c, Fold(stream)).Events);
        Decide(new ObserveTrain(new TrainSeat("main", "car-2", [1], AheadHead, false, Images: new CarImages([Key], [], [])), Target, At(1)));
        Decide(new RecordCarNote("car-2", 77, At(2)));
        Decide(RecordRebase.Landed(Ours, AheadHead, At(3)));
        Decide(new RecordFreshness(null, false, At(4), AsRecorded: [new ImageAssessment(Image, Tag, FreshnessVerdict.Missing, AheadHead, "missing", null)]));
        Decide(new RecordPipelinePrepared(before, [], At(5)));
        Decide(new RecordPipeline(Pipeline, Ours, false, At(6)));
        Decide(new ObservePipeline(Pipeline, "success", At(7)));
        Assert.Equal(WorkflowState.Verifying, Fold(stream).State);
        return [.. stream];
    }

    private static readonly IWorkflowEvent[] Verifying = Recorded(MainTag);

    private static TrainBuildsBeside Train(params CarPush[] pushes) => new([OtherKey, Key], pushes, [OurCar, OtherCar]);

    private static TrainTagChange Change(string digest, string? commit, long? pipeline, LabelledPipeline? ran) =>
        new(Repo, OtherTag, digest, commit is null && pipeline is null ? null : new RegistryImage(digest, commit, pipeline, 9), ran);

    private static LabelledPipeline BotPipeline(string sha, string user = Bot) => new(OtherPipeline, sha, "mr-5-branch", user);

    /// <summary>Our own build verified as the runner saw it, and the other car's tag at <paramref name="otherNow"/> afterwards.</summary>
    private static RecordVerification Verification(string? otherNow, TrainBesideEvidence? beside, IReadOnlyList<string>? legacyTags = null) =>
        new(AheadHead, [], 3, At(8), new VerificationEvidence("mesa/mesa",
            [new ImageEvidence(Image, Tag, Reference, FreshnessVerdict.Missing, Built, new RegistryImage(Built, Ours, Pipeline, 5), false)],
            [new JobEvidence(5, Image, "success", []), new JobEvidence(6, "test", "success", [new RunnerImageLine(Reference, Built)])],
            [Image], [MainTag, new TagDigest(Repo, Tag, Built), .. otherNow is null ? Array.Empty<TagDigest>() : [new TagDigest(Repo, OtherTag, otherNow)]],
            TrainBuilds: legacyTags, Beside: beside));

    private static IReadOnlyList<IWorkflowEvent> Decide(RecordVerification c) => DeciderSpec.Given(Verifying).When(c).ThenEvents();

    private static string Refusal(IReadOnlyList<IWorkflowEvent> events)
    {
        Assert.IsType<BuildRejected>(events[0]);
        Assert.Equal($"{Repo}:{OtherTag} changed from absent to {OtherBuild}", Assert.Single(Assert.IsType<RegistryTampered>(events[1]).Changes));
        return Assert.IsType<AttemptFailed>(events[2]).Reason;
    }

    [Fact]
    public void Given_another_car_pushed_its_tag_beside_our_pipeline_When_the_train_recorded_that_push_Then_the_registry_guard_expects_it()
    {
        var events = Decide(Verification(OtherBuild, new TrainBesideEvidence(Train(new CarPush(OtherKey, OtherBuild, OtherCar.CarId)), [], Bot)));

        Assert.IsType<BuildVerified>(Assert.Single(events));
    }

    [Fact]
    public void Given_another_car_s_build_landed_before_the_train_heard_of_it_When_its_labels_name_that_car_s_head_and_a_pipeline_the_bot_created_there_Then_it_is_expected()
    {
        var change = Change(OtherBuild, OtherCarHead, OtherPipeline, BotPipeline(OtherCarHead));

        Assert.IsType<BuildVerified>(Assert.Single(Decide(Verification(OtherBuild, new TrainBesideEvidence(Train(), [change], Bot)))));
    }

    public static TheoryData<string, TrainTagChange?> Foreign => new()
    {
        { "the train recorded no push of it, and its labels (read by digest) name no commit and pipeline", null },
        { "the train recorded no push of it, and its labels (read by digest) name no commit and pipeline", Change(OtherBuild, null, null, null) },
        { $"its labels name pipeline {OtherPipeline}, which is not one of this project's", Change(OtherBuild, OtherCarHead, OtherPipeline, null) },
        { $"its labels name pipeline {OtherPipeline}, which mallory created, not {Bot}", Change(OtherBuild, OtherCarHead, OtherPipeline, BotPipeline(OtherCarHead, "mallory")) },
        { $"its labels name commit {OtherCarHead}, but pipeline {OtherPipeline} ran at {Target}", Change(OtherBuild, OtherCarHead, OtherPipeline, BotPipeline(Target)) },
        { $"its labels name commit {Target}, the head of no other car of the merge train", Change(OtherBuild, Target, OtherPipeline, BotPipeline(Target)) },
        // Our own car's head and pipeline are no other car's: our build is only ever expected under our own tags.
        { $"its labels name commit {Ours}, the head of no other car of the merge train", Change(OtherBuild, Ours, OtherPipeline, BotPipeline(Ours)) },
    };

    [Theory]
    [MemberData(nameof(Foreign))]
    public void Given_a_tag_another_car_builds_When_it_holds_a_digest_the_train_cannot_vouch_for_Then_the_car_is_refused_with_why(string why, TrainTagChange? change)
    {
        // A push the train recorded of another digest under that tag vouches for nothing else.
        var beside = new TrainBesideEvidence(Train(new CarPush(OtherKey, MainDigest, OtherCar.CarId)), change is null ? [] : [change], Bot);

        var reason = Refusal(Decide(Verification(OtherBuild, beside)));

        Assert.Contains($"{Repo}:{OtherTag} is built by another car of the merge train, but no car of it vouches for {OtherBuild}: {why}", reason);
    }

    [Fact]
    public void Given_a_tag_another_car_builds_When_a_push_of_that_digest_was_reported_by_our_own_car_Then_it_vouches_for_nothing()
    {
        var beside = new TrainBesideEvidence(Train(new CarPush(OtherKey, OtherBuild, OurCar.CarId)), [], Bot);

        Assert.Contains("no car of it vouches for", Refusal(Decide(Verification(OtherBuild, beside))));
        Assert.Null(TrainVouching.Unvouched(OtherKey, Repo, OtherTag, OtherBuild, beside, _ => false));
    }

    [Fact]
    public void Given_a_tag_another_car_builds_When_another_car_s_failed_attempt_took_it_back_Then_the_absent_tag_is_expected()
    {
        var hadIt = Recorded(MainTag, new TagDigest(Repo, OtherTag, OtherBuild));

        var events = DeciderSpec.Given(hadIt).When(Verification(null, new TrainBesideEvidence(Train(), [], Bot))).ThenEvents();

        Assert.IsType<BuildVerified>(Assert.Single(events));
    }

    [Fact]
    public void Given_a_push_by_a_car_that_ran_before_the_asker_s_attempt_When_the_train_says_what_ran_beside_Then_that_car_s_head_comes_with_it()
    {
        // Car 1 pushed the tag and still holds it; car 2 ran long before and pushed nothing: only car 1's head says whose push it is.
        var state = TrainState.Initial with { PushedFor = TrainState.Initial.PushedFor.Add(OtherKey, "car-1") };
        ITrainEvent[] events = [new CarHeadPushed(5, "car-1", OtherCarHead, At(1)), new CarHeadPushed(6, "car-2", Target, At(1)), new ImagePushed(OtherKey, OtherBuild, At(2), "car-1")];

        var beside = TrainRules.Beside(events, state, At(10));

        Assert.Equal([OtherKey], beside.Tags);
        Assert.Equal([new CarPush(OtherKey, OtherBuild, "car-1")], beside.Pushes);
        Assert.Equal([new CarHead(5, "car-1", OtherCarHead)], beside.Heads);
    }

    [Fact]
    public void Given_a_stream_recorded_when_the_guard_trusted_the_tag_alone_When_replayed_Then_the_change_is_refused_and_replay_says_the_rules_changed()
    {
        var legacy = Verification(OtherBuild, null, legacyTags: [OtherKey, Key]);
        Assert.Contains("nothing the train built beside this pipeline was recorded with the evidence", Refusal(Decide(legacy)));

        var recorded = Verifying.Select(e => (e, (int?)4))
            .Append((new BuildVerified(1, AheadHead, [new BuiltImage(Image, Tag, Built, Ours, Pipeline)], At(8), legacy.Evidence), 4)).ToList();
        var report = WorkflowReplay.Run(recorded);
        Assert.Equal("rules_changed", report.Decisions.Last().Verdict);
        Assert.False(report.Unexplained);
    }

    [Fact]
    public void Given_a_car_verified_beside_another_car_s_build_When_replayed_Then_the_vouching_is_judged_again_on_the_recorded_evidence()
    {
        var stream = new List<IWorkflowEvent>(Verifying);
        var change = Change(OtherBuild, OtherCarHead, OtherPipeline, BotPipeline(OtherCarHead));
        stream.AddRange(WorkflowDecider.Decide(Verification(OtherBuild, new TrainBesideEvidence(Train(), [change], Bot)), Fold(stream)).Events);
        Assert.IsType<BuildVerified>(stream[^1]);

        Assert.True(WorkflowReplay.Run(stream).Consistent);
        // The same record with the pipeline's creator changed is not what today's rules would decide.
        var forged = stream.ToList();
        var verified = (BuildVerified)forged[^1];
        forged[^1] = verified with { Evidence = verified.Evidence! with { Beside = verified.Evidence.Beside! with { Changes = [change with { Pipeline = BotPipeline(OtherCarHead, "mallory") }] } } };
        Assert.False(WorkflowReplay.Run(forged).Consistent);
    }
}
