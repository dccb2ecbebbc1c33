using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// After a pipeline of ours that failed, the shell stops it if it still runs, reads the registry only once GitLab shows
/// it stopped, and then (the decider having found the planted tags) takes them back, before the attempt's note.
/// </summary>
public sealed class RegistryCheckDriverTests
{
    private const string Repo = "mesa/mesa/debian/x86_64_build", MainTag = "20261101-base", PlantedTag = "20261215-next";
    private const string MainDigest = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    private const string Planted = "sha256:6666666666666666666666666666666666666666666666666666666666666666";
    private readonly ShellWorld world = new();
    private static readonly RegistryImage Main = new(MainDigest, TargetSha, 10, 11);
    private static readonly RegistryImage Trojan = new(Planted, "a1a1", Pipeline, 7);

    public RegistryCheckDriverTests()
    {
        world.Policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", "tags.yml", "TAG", [])], "Mesa/Mesa");
        // The fork owner's job pushed over main's tag (its manifest stays, by digest) and planted one of its own, then failed.
        world.Untagged.Add(Main);
        world.Registry[(Repo, MainTag)] = Trojan;
        world.Registry[(Repo, PlantedTag)] = Trojan;
        world.GitLab.OnDeleteTag = (repository, tag) => world.Registry.Remove((repository, tag));
    }

    private void PipelineIs(string status) =>
        world.GitLab.Pipelines[Pipeline] = new GitLabPipeline(Pipeline, FakeGitLab.Project, RebasedSha, "refs/merge-requests/3/head", status,
            "merge_request_event", new GitLabUser(FakeGitLab.Bot, "marge-bot"));

    /// <summary>Our pipeline ended as "someone pushed" while a job of it still ran.</summary>
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
}
