using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>A fork MR's pipeline in the target project: verified by what the runner reported, guarded, and cleaned up.</summary>
public sealed class TargetPipelineDeciderTests
{
    private const long Target = 17;
    private const string Repo = "mesa/mesa/debian/x86_64_build";
    private const string Reference = "127.0.0.1:5055/" + Repo + ":20261128-A";
    private const string MainDigest = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    private const string Other = "sha256:8888888888888888888888888888888888888888888888888888888888888888";

    private static readonly TagDigest MainTag = new(Repo, "main-tag", MainDigest);

    private static IWorkflowEvent[] VerifyingInTarget =>
    [
        .. Building,
        new PipelinePrepared(1, [MainTag], [$"{Repo}:20261128-A"], At(4), ReadAfterAnyEnd: true),
        // Each decision has its own time (replay tells decisions apart by it).
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), Target),
        new PipelineObserved(1, Pipeline, "success", At(30)),
    ];

    private static VerificationEvidence Evidence(params TagDigest[] after) => new("mesa/mesa",
        [new ImageEvidence("debian/x86_64_build", "20261128-A", Reference, FreshnessVerdict.Stale, Digest,
            new RegistryImage(Digest, RebasedSha, Pipeline, 5), false)],
        [new JobEvidence(5, "build", "success", []), new JobEvidence(6, "test", "success", [new RunnerImageLine(Reference, Digest)])],
        ["build"], after);

    [Fact]
    public void Given_our_pipeline_in_the_target_When_every_job_ran_on_what_it_built_Then_verified_and_nothing_is_promoted()
    {
        var state = Given(VerifyingInTarget)
            .When(new RecordVerification(TargetSha, [], 3, At(31), Evidence(MainTag, new TagDigest(Repo, "20261128-A", Digest))))
            .Then(new BuildVerified(1, TargetSha, [BuiltBuildImage with { Digest = Digest }], At(31),
                Evidence(MainTag, new TagDigest(Repo, "20261128-A", Digest))));
        Assert.Equal(WorkflowState.Merging, state.State);
        Assert.Single(state.PendingCleanup);
    }

    [Fact]
    public void Given_our_pipeline_in_the_target_When_a_job_pushed_over_a_tag_main_uses_Then_the_attempt_fails_naming_it()
    {
        var events = Given(VerifyingInTarget)
            .When(new RecordVerification(TargetSha, [], 3, At(31), Evidence(MainTag with { Digest = Other }, new TagDigest(Repo, "20261128-A", Digest))))
            .ThenEvents();
        Assert.IsType<BuildRejected>(events[0]);
        Assert.Equal($"{Repo}:main-tag changed from {MainDigest} to {Other}", Assert.Single(Assert.IsType<RegistryTampered>(events[1]).Changes));
        var failed = Assert.IsType<AttemptFailed>(events[2]);
        Assert.Contains($"{Repo}:main-tag changed from {MainDigest} to {Other}", failed.Reason);
    }

    [Fact]
    public void Given_our_pipeline_in_the_target_When_the_tag_was_pushed_over_after_the_jobs_ran_Then_the_attempt_fails()
    {
        var events = Given(VerifyingInTarget)
            .When(new RecordVerification(TargetSha, [], 3, At(31), Evidence(MainTag, new TagDigest(Repo, "20261128-A", Other))))
            .ThenEvents();
        Assert.IsType<BuildRejected>(events[0]);
        Assert.Contains($"points at {Other}, not at the {Digest} our jobs ran on", Assert.IsType<AttemptFailed>(events[^1]).Reason);
    }

    [Fact]
    public void Given_our_pipeline_in_the_target_When_it_triggers_a_downstream_pipeline_Then_the_attempt_fails_naming_the_trigger()
    {
        var events = Given(VerifyingInTarget)
            .When(new RecordVerification(TargetSha, [], 3, At(31), Evidence(MainTag, new TagDigest(Repo, "20261128-A", Digest)) with { Bridges = ["deploy-child"] }))
            .ThenEvents();
        Assert.Contains("triggers downstream pipelines (deploy-child)", Assert.IsType<AttemptFailed>(events[^1]).Reason);
    }

    [Fact]
    public void Given_an_attempt_that_built_upstream_and_failed_When_cleaned_up_Then_each_image_is_recorded_once_and_merging_clears_nothing()
    {
        IWorkflowEvent[] failed = [.. VerifyingInTarget[..^1], new PipelineObserved(1, Pipeline, "failed", At(30)),
            new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(30))];
        Assert.Single(Fold(failed).PendingCleanup);
        var after = Given(failed).When(new RecordUpstreamCleanup("debian/x86_64_build", "20261128-A", true, At(31)))
            .Then(new UpstreamImageCleaned(1, "debian/x86_64_build", "20261128-A", true, At(31)));
        Assert.Empty(after.PendingCleanup);
        Given([.. failed, new UpstreamImageCleaned(1, "debian/x86_64_build", "20261128-A", true, At(31))])
            .When(new RecordUpstreamCleanup("debian/x86_64_build", "20261128-A", true, At(32))).ThenNothing();
    }

    [Fact]
    public void Given_a_prepared_pipeline_When_prepared_again_after_a_crash_Then_nothing_new_is_recorded()
    {
        Given(Building).When(new RecordPipelinePrepared([MainTag], [], At(4))).Then(new PipelinePrepared(1, [MainTag], [], At(4), ReadAfterAnyEnd: true));
        Given([.. Building, new PipelinePrepared(1, [MainTag], [], At(4), ReadAfterAnyEnd: true)]).When(new RecordPipelinePrepared([], [], At(5))).ThenNothing();
    }

    [Fact]
    public void Given_a_history_with_a_target_pipeline_When_replayed_Then_every_decision_is_the_same()
    {
        var history = VerifyingInTarget.Concat([(IWorkflowEvent)new BuildVerified(1, TargetSha, [BuiltBuildImage with { Digest = Digest }], At(31),
            Evidence(MainTag, new TagDigest(Repo, "20261128-A", Digest)))]).ToList();
        Assert.True(WorkflowReplay.Run(history).Consistent);
    }
}
