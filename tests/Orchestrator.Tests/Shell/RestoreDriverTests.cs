using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// After an attempt whose pipeline tampered with the target's registry, the shell takes back each tag the decider chose,
/// looked up first: main's tag re-tagged to its digest from before, a planted tag deleted by name; a repeat changes nothing.
/// After a pipeline that did not succeed, it first stops it if it still runs and reads the registry once it has stopped.
/// </summary>
public sealed class RestoreDriverTests
{
    private const string Repo = "mesa/mesa/debian/x86_64_build", MainTag = "20261101-base", PlantedTag = "20261215-next";
    private const string MainDigest = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    private const string Planted = "sha256:6666666666666666666666666666666666666666666666666666666666666666";
    private const string Later = "sha256:7777777777777777777777777777777777777777777777777777777777777777";
    private readonly ShellWorld world = new();
    private static readonly RegistryImage Main = new(MainDigest, TargetSha, 10, 11);
    private static readonly RegistryImage Trojan = new(Planted, "a1a1", Pipeline, 7);

    public RestoreDriverTests()
    {
        world.Policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", "tags.yml", "TAG", [])], "Mesa/Mesa");
        world.GitLab.Pipelines[Pipeline] = new GitLabPipeline(Pipeline, FakeGitLab.Project, RebasedSha, "refs/merge-requests/3/head", "success",
            "merge_request_event", new GitLabUser(FakeGitLab.Bot, "marge-bot"));
        // The fork owner's job pushed over main's tag (its manifest stays, by digest) and planted one of its own.
        world.Untagged.Add(Main);
        world.Registry[(Repo, MainTag)] = Trojan;
        world.Registry[(Repo, PlantedTag)] = Trojan;
        world.GitLab.OnDeleteTag = (repository, tag) => world.Registry.Remove((repository, tag));
    }

    private static MergeRequestWorkflow Tampered => Fold([
        .. Building, new PipelinePrepared(1, [new TagDigest(Repo, MainTag, MainDigest)], [], At(4)),
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), FakeGitLab.Project), new PipelineObserved(1, Pipeline, "success", At(30)),
        new RegistryTampered(1, Pipeline, ["…"], At(31), [new TagRestore(Repo, MainTag, MainDigest, Planted), new TagRestore(Repo, PlantedTag, null, Planted)]),
        new AttemptFailed(1, WorkflowState.Verifying, "The images could not be verified", At(31)),
    ]);

    private static T Command<T>(StepResult result) where T : WorkflowCommand => Assert.IsType<T>(Assert.IsType<StepResult.Decide>(result).Command);

    private async Task<(RecordTagRestore Report, MergeRequestWorkflow After)> StepAsync(MergeRequestWorkflow state, int minute)
    {
        var report = Command<RecordTagRestore>(await world.StepAsync(state, At(minute)));
        var decision = WorkflowDecider.Decide(report, state);
        return (report, decision.Events.Aggregate(state, WorkflowEvolver.Evolve));
    }

    [Fact]
    public async Task Given_main_s_tag_pushed_over_and_a_tag_planted_When_finished_Then_main_s_digest_is_back_and_the_planted_tag_gone()
    {
        var (restored, state) = await StepAsync(Tampered, 32);
        Assert.Equal(new RecordTagRestore(Repo, MainTag, Planted, MainDigest, At(32)), restored);
        Assert.Equal(MainDigest, world.Registry[(Repo, MainTag)].Digest);
        Assert.Equal([$"{Repo}@{MainDigest} -> {Repo}:{MainTag}"], world.Copies);

        var (deleted, after) = await StepAsync(state, 33);
        Assert.Equal(new RecordTagRestore(Repo, PlantedTag, Planted, null, At(33)), deleted);
        Assert.False(world.Registry.ContainsKey((Repo, PlantedTag)));
        Assert.Single(world.GitLab.Calls, $"delete {Repo}:{PlantedTag}");
        Assert.Empty(after.PendingRestores);
    }

    [Fact]
    public async Task Given_a_crash_after_the_restore_When_stepped_again_Then_it_is_found_restored_and_nothing_is_done_twice()
    {
        await world.StepAsync(Tampered, At(32));
        var again = Command<RecordTagRestore>(await world.StepAsync(Tampered, At(33)));

        Assert.Equal(new RecordTagRestore(Repo, MainTag, MainDigest, MainDigest, At(33)), again);
        Assert.Single(world.Copies);
        Assert.True(Assert.Single(WorkflowDecider.Decide(again, Tampered).Events) is RegistryTagRestored { Outcome: TagRestoreOutcome.Restored });
    }

    [Fact]
    public async Task Given_main_s_digest_from_before_gone_from_the_registry_When_finished_Then_the_tag_is_deleted_rather_than_left_planted()
    {
        world.Untagged.Clear();

        var (deleted, _) = await StepAsync(Tampered, 32);

        Assert.Equal(new RecordTagRestore(Repo, MainTag, Planted, null, At(32)), deleted);
        Assert.False(world.Registry.ContainsKey((Repo, MainTag)));
        Assert.Single(world.GitLab.Calls, $"delete {Repo}:{MainTag}");
    }

    [Fact]
    public async Task Given_main_s_tag_pushed_since_by_someone_else_When_finished_Then_it_is_left_and_said_so()
    {
        world.Registry[(Repo, MainTag)] = Trojan with { Digest = Later };

        var (left, _) = await StepAsync(Tampered, 32);

        Assert.Equal(new RecordTagRestore(Repo, MainTag, Later, Later, At(32)), left);
        Assert.Empty(world.Copies);
        Assert.Equal(Later, world.Registry[(Repo, MainTag)].Digest);
    }

    private void PipelineIs(string status) =>
        world.GitLab.Pipelines[Pipeline] = new GitLabPipeline(Pipeline, FakeGitLab.Project, RebasedSha, "refs/merge-requests/3/head", status,
            "merge_request_event", new GitLabUser(FakeGitLab.Bot, "marge-bot"));

    /// <summary>A later stream (rule book 8): our pipeline ended as "someone pushed" while a job of it still ran.</summary>
    private static MergeRequestWorkflow Ended => Fold([
        .. Building, new PipelinePrepared(1, [new TagDigest(Repo, MainTag, MainDigest)], [], At(4), ReadAfterAnyEnd: true),
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), FakeGitLab.Project, FakeGitLab.Project),
        new AttemptFailed(1, WorkflowState.Building, WorkflowDecider.SomeonePushed, At(20)),
    ]);

    private static MergeRequestWorkflow Apply(MergeRequestWorkflow state, WorkflowCommand command)
    {
        var decision = WorkflowDecider.Decide(command, state);
        Assert.Null(decision.Rejection);
        return decision.Events.Aggregate(state, WorkflowEvolver.Evolve);
    }

    [Fact]
    public async Task Given_a_pipeline_still_running_after_the_attempt_ended_When_stepped_Then_it_is_cancelled_and_the_registry_read_only_once_it_stopped()
    {
        PipelineIs("running");

        Assert.IsType<StepResult.Wait>(await world.StepAsync(Ended, At(21)));
        Assert.Contains($"cancel {Pipeline}", world.GitLab.Calls);
        Assert.Empty(world.GitLab.Notes);

        var read = Assert.IsType<ObserveRegistryAfter>(Assert.IsType<StepResult.Decide>(await world.StepAsync(Ended, At(22))).Command);
        Assert.Equal("canceled", read.PipelineStatus);
        Assert.Contains(new TagDigest(Repo, PlantedTag, Planted), read.Evidence.RegistryAfter);
        var state = Apply(Ended, read);
        Assert.Equal(2, state.PendingRestores.Count);

        // Then the tags are taken back, before anything else of the attempt's end.
        state = Apply(state, Assert.IsType<RecordTagRestore>(Assert.IsType<StepResult.Decide>(await world.StepAsync(state, At(23))).Command));
        state = Apply(state, Assert.IsType<RecordTagRestore>(Assert.IsType<StepResult.Decide>(await world.StepAsync(state, At(24))).Command));
        Assert.Empty(state.PendingRestores);
        Assert.Equal(MainDigest, world.Registry[(Repo, MainTag)].Digest);
        Assert.False(world.Registry.ContainsKey((Repo, PlantedTag)));
        Assert.Empty(world.GitLab.Notes);
    }

    [Fact]
    public async Task Given_a_pipeline_that_failed_When_stepped_Then_the_registry_is_read_at_once_without_a_cancel()
    {
        PipelineIs("failed");

        var read = Assert.IsType<ObserveRegistryAfter>(Assert.IsType<StepResult.Decide>(await world.StepAsync(Ended, At(21))).Command);

        Assert.Equal("failed", read.PipelineStatus);
        Assert.DoesNotContain($"cancel {Pipeline}", world.GitLab.Calls);
        Assert.Null(RegistryChecks.Due(Apply(Ended, read)));
    }

    [Fact]
    public async Task Given_a_tag_planted_in_a_repository_the_policy_does_not_list_When_the_registry_is_read_Then_it_is_seen_and_deleted()
    {
        PipelineIs("failed");
        // The project's own image, which no policy image names.
        world.Registry[("mesa/mesa", "latest")] = Trojan;

        var read = Assert.IsType<ObserveRegistryAfter>(Assert.IsType<StepResult.Decide>(await world.StepAsync(Ended, At(21))).Command);
        var state = Apply(Ended, read);

        Assert.Contains(new TagRestore("mesa/mesa", "latest", null, Planted), state.PendingRestores);
        for (var minute = 22; state.PendingRestores.Count > 0 && minute < 30; minute++)
            state = Apply(state, Assert.IsType<RecordTagRestore>(Assert.IsType<StepResult.Decide>(await world.StepAsync(state, At(minute))).Command));
        Assert.Empty(state.PendingRestores);
        Assert.Contains("delete mesa/mesa:latest", world.GitLab.Calls);
        Assert.False(world.Registry.ContainsKey(("mesa/mesa", "latest")));
    }

    [Fact]
    public async Task Given_GitLab_s_list_of_registry_repositories_cannot_be_read_whole_When_the_registry_is_read_Then_the_step_fails_rather_than_read_part()
    {
        PipelineIs("failed");
        world.GitLab.RegistryRepositories = () => throw new InvalidOperationException("more than 50 pages");

        await Assert.ThrowsAsync<InvalidOperationException>(() => world.StepAsync(Ended, At(21)));
    }
}
