using System.Reflection;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Domain.Trains;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// The shell's half of the train's vouching: at verification it reads, by digest, each tag another car builds that changed
/// (labels, and GitLab's pipeline they name) for the decider; a failed attempt's clean-up records what the train says of
/// other cars' pushes of its tag (never the labels) for the decider's cleanup rule.
/// </summary>
public sealed class TrainVouchingShellTests
{
    private const string Image = "debian/x86_64_build";
    private const string Repo = "mesa/mesa/" + Image;
    private const string OurTag = "20261130-ours";
    private const string OtherTag = "20261130-other";
    private const string PushedTag = "20261130-pushed";
    private const string OtherHead = "4444444444444444444444444444444444444444";
    private const long OtherPipeline = 5150;
    private static readonly string Theirs = "sha256:" + new string('c', 64);
    private static readonly string Pushed = "sha256:" + new string('d', 64);
    private static readonly string Old = "sha256:" + new string('e', 64);

    private readonly FakeGitLab gitlab = new()
    {
        Branches = [],
        Files = { [("tags.yml", TargetSha)] = "TAG: 20261101-base\n" },
    };
    private readonly FakeRegistry registry = new();
    private static readonly ProjectPolicy Policy = new([new ImagePolicy(Image, "tags.yml", "TAG", [])], "mesa/mesa", 0, 10, 3, false);

    private TargetPipeline Target() => new(gitlab, registry,
        Options.Create(new OrchestratorOptions { GitLab = new GitLabOptions { BotUsername = "marge-bot" } }), new ShellWorld.Ledger(() => []));

    /// <summary>An image built by a pipeline at <paramref name="commit"/>, by <paramref name="creator"/>, on another ref.</summary>
    private void Built(string tag, string digest, string commit, string creator = "marge-bot", long pipeline = OtherPipeline)
    {
        registry.Tags[$"{Repo}:{tag}"] = digest;
        registry.Labels[digest] = new RegistryImage(digest, commit, pipeline, 9);
        gitlab.Pipelines[pipeline] = new GitLabPipeline(pipeline, FakeGitLab.Project, commit, "other-branch", "success", "push", new GitLabUser(2, creator));
    }

    private static TrainBuildsBeside Beside(params CarHead[] heads) =>
        new([$"{Image}:{OtherTag}", $"{Image}:{OurTag}"], [new CarPush($"{Image}:{PushedTag}", Pushed, "car-3")], heads);

    private static readonly CarHead OtherCar = new(5, "car-3", OtherHead);

    [Fact]
    public async Task Given_a_failed_car_s_tag_When_it_is_observed_for_cleanup_Then_the_train_s_pushes_of_it_and_the_cars_heads_are_recorded_and_no_label_is_trusted()
    {
        Built(OurTag, Theirs, OtherHead);
        var beside = Beside(OtherCar) with { Pushes = [new CarPush($"{Image}:{OurTag}", Theirs, "car-3"), new CarPush($"{Image}:{PushedTag}", Pushed, "car-3")] };

        var seen = await Target().ObserveCleanupAsync(ShellWorld.Key, "main", new ImageState(Image, OurTag, FreshnessVerdict.Missing, null), Policy, beside,
            At(40), CancellationToken.None);

        // Only the pushes of this very tag, and every car's head (to tell ours from theirs).
        Assert.Equal([new CarPush($"{Image}:{OurTag}", Theirs, "car-3")], seen.Observation.TrainPushes);
        Assert.Equal([OtherCar], seen.Observation.TrainHeads);
        Assert.Empty(registry.InspectedByDigest);
        // The train's push of that digest by another car keeps it; the same image with no such push goes.
        Assert.False(UpstreamCleanups.Choose(new ImageState(Image, OurTag, FreshnessVerdict.Missing, null), seen.Observation).Delete);
        Assert.True(UpstreamCleanups.Choose(new ImageState(Image, OurTag, FreshnessVerdict.Missing, null), seen.Observation with { TrainPushes = [] }).Delete);
    }

    [Fact]
    public async Task Given_a_car_verified_beside_the_train_When_its_evidence_is_completed_Then_only_the_other_cars_tags_that_changed_to_unrecorded_digests_are_read_by_digest()
    {
        Built(OtherTag, Theirs, OtherHead);
        registry.Tags[$"{Repo}:{PushedTag}"] = Pushed;
        var state = MergeRequestWorkflow.Initial with
        {
            Attempt = 1, State = WorkflowState.Verifying, RebasedSha = RebasedSha, AttemptStartedAt = At(0),
            CarImages = new CarImageState(new CarImages([$"{Image}:{OurTag}"], [], []), [], []),
            Guard = new PipelineGuard([new TagDigest(Repo, OtherTag, Old)], []),
        };
        var evidence = new VerificationEvidence("mesa/mesa", [], [], [],
            [new TagDigest(Repo, OtherTag, Theirs), new TagDigest(Repo, PushedTag, Pushed), new TagDigest(Repo, OurTag, Old)]);
        var beside = Beside(OtherCar) with { Tags = [$"{Image}:{OtherTag}", $"{Image}:{PushedTag}", $"{Image}:{OurTag}"] };

        var told = await new CarImagesObserver(gitlab, registry, Target()).WithTrainBesideAsync(evidence, ShellWorld.Key, state, TrainAnswering(beside), CancellationToken.None);

        Assert.Equal(beside, told!.Beside!.Train);
        Assert.Equal("marge-bot", told.Beside.BotUsername);
        // The pushed tag's digest is the train's record already, and our own tag is no other car's: only one is read.
        var change = Assert.Single(told.Beside.Changes);
        Assert.Equal(new TrainTagChange(Repo, OtherTag, Theirs, registry.Labels[Theirs], new LabelledPipeline(OtherPipeline, OtherHead, "other-branch", "marge-bot")), change);
        Assert.Equal([Theirs], registry.InspectedByDigest);
        // A car outside an image-aware train has nothing to add.
        Assert.Same(evidence, await new CarImagesObserver(gitlab, registry, Target()).WithTrainBesideAsync(evidence, ShellWorld.Key,
            state with { CarImages = null }, TrainAnswering(beside), CancellationToken.None));
    }

    private static ITrainGrain TrainAnswering(TrainBuildsBeside beside)
    {
        var proxy = DispatchProxy.Create<ITrainGrain, TrainProxy>();
        ((TrainProxy)(object)proxy).Beside = beside;
        return proxy;
    }

    public class TrainProxy : DispatchProxy
    {
        public TrainBuildsBeside? Beside { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args) => method?.Name == nameof(ITrainGrain.BuildsBeside)
            ? Task.FromResult(Beside!)
            : throw new NotSupportedException($"{method?.Name}: these tests ask the train only what ran beside a car");
    }

    private sealed class FakeRegistry : IImageRegistry
    {
        public Dictionary<string, string> Tags { get; } = [];
        public Dictionary<string, RegistryImage> Labels { get; } = [];
        public List<string> InspectedByDigest { get; } = [];

        public Task<RegistryImage?> InspectAsync(string repository, string reference, CancellationToken ct = default)
        {
            var digest = reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference : Tags.GetValueOrDefault($"{repository}:{reference}");
            if (reference == digest) InspectedByDigest.Add(digest);
            return Task.FromResult(digest is null ? null : Labels.GetValueOrDefault(digest));
        }

        public Task<string?> DigestAsync(string repository, string reference, CancellationToken ct = default) =>
            Task.FromResult(Tags.GetValueOrDefault($"{repository}:{reference}"));

        public Task<string> CopyAsync(string fromRepository, string digest, string toRepository, string tag, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken ct = default) => throw new NotSupportedException();
        public Task DeleteAsync(string repository, string digest, CancellationToken ct = default) => throw new NotSupportedException();
    }
}
