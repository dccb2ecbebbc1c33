using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>
/// After an attempt that did not merge, the shell observes what the cleanup rule needs and deletes nothing of its own
/// accord; once the decider chose, it deletes only that digest, looked up first.
/// </summary>
public sealed class CleanupDriverTests
{
    private const string Name = "debian/x86_64_build", Tag = "20261128-A", Repo = "mesa/mesa/" + Name, TagFile = ".gitlab-ci/image-tags.yml";
    private const string Other = "sha256:8888888888888888888888888888888888888888888888888888888888888888";
    private readonly ShellWorld world = new();

    public CleanupDriverTests()
    {
        world.Policy = new ProjectPolicy([new ImagePolicy(Name, TagFile, "TAG", [".gitlab-ci/container/**"])], "Mesa/Mesa");
        world.GitLab.Branches = [new GitLabBranch("main", new GitLabBranchCommit(TargetSha), true), new GitLabBranch("release", new GitLabBranchCommit("c3c3"), true),
            new GitLabBranch("feature", new GitLabBranchCommit(RebasedSha), false)];
        world.GitLab.Files[(TagFile, TargetSha)] = "TAG: 20261101-base\n";
        world.GitLab.Files[(TagFile, "c3c3")] = "TAG: 20261001-rel\n";
        world.GitLab.Pipelines[Pipeline] = new GitLabPipeline(Pipeline, FakeGitLab.Project, RebasedSha, "refs/merge-requests/3/head", "failed",
            "merge_request_event", new GitLabUser(FakeGitLab.Bot, "marge-bot"));
        world.Registry[(Repo, Tag)] = new RegistryImage(Digest, RebasedSha, Pipeline, 5);
        world.GitLab.OnDeleteTag = (repository, tag) => world.Registry.Remove((repository, tag));
    }

    private static IWorkflowEvent[] Failed =>
    [
        .. Building, new PermissionChecked(1, PermissionCheckpoint.Request, 0, null, null, [], true, "ok", At(3), "main"),
        new PipelinePrepared(1, [], [], At(4)), new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), FakeGitLab.Project),
        new PipelineObserved(1, Pipeline, "failed", At(30)), new AttemptFailed(1, WorkflowState.Building, "CI failed!", At(30)),
    ];

    private static T Command<T>(StepResult result) where T : WorkflowCommand => Assert.IsType<T>(Assert.IsType<StepResult.Decide>(result).Command);

    [Fact]
    public async Task Given_a_failed_attempt_that_built_upstream_When_finished_Then_the_shell_observes_for_the_decider_and_deletes_nothing()
    {
        var seen = Command<ObserveCleanup>(await world.StepAsync(Fold(Failed), At(31)));

        Assert.Equal((Name, Tag), (seen.Name, seen.Tag));
        var o = seen.Observation;
        Assert.Equal((Repo, "main", TargetSha, 3L), (o.Repository, o.TargetBranch, o.TargetHead, o.MergeRequestIid));
        Assert.Equal([new BranchTag("main", TargetSha, "20261101-base"), new BranchTag("release", "c3c3", "20261001-rel")], o.TagsInUse);
        Assert.Equal(new RegistryImage(Digest, RebasedSha, Pipeline, 5), o.Current);
        // No train: nothing of other cars.
        Assert.Null(o.TrainPushes);
        Assert.DoesNotContain(world.GitLab.Calls, c => c.StartsWith("delete", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_the_decider_chose_to_delete_When_finished_Then_only_that_digest_is_deleted_and_a_repeat_finds_it_gone()
    {
        var state = Fold(Failed);
        var seen = Command<ObserveCleanup>(await world.StepAsync(state, At(31)));
        state = WorkflowDecider.Decide(seen, state).Events.Aggregate(state, WorkflowEvolver.Evolve);

        var deleted = Command<RecordUpstreamCleanup>(await world.StepAsync(state, At(32)));
        var again = Command<RecordUpstreamCleanup>(await world.StepAsync(state, At(33)));

        Assert.Equal((true, Digest), (deleted.Deleted, deleted.Found));
        Assert.Equal((false, (string?)null), (again.Deleted, again.Found));
        Assert.Single(world.GitLab.Calls, $"delete {Repo}:{Tag}");
        Assert.Single(WorkflowDecider.Decide(deleted, state).Events);
    }

    [Fact]
    public async Task Given_the_target_branch_deleted_When_finished_Then_the_protected_branches_still_count_and_the_tag_is_observed()
    {
        world.GitLab.Branches = [new GitLabBranch("release", new GitLabBranchCommit("c3c3"), true)];
        world.GitLab.Heads.Remove("main");

        var o = Command<ObserveCleanup>(await world.StepAsync(Fold(Failed), At(31))).Observation;

        Assert.Null(o.TargetHead);
        Assert.Equal([new BranchTag("release", "c3c3", "20261001-rel")], o.TagsInUse);
        Assert.Equal(Digest, o.Current?.Digest);
        Assert.True(UpstreamCleanups.Choose(new ImageState(Name, Tag, FreshnessVerdict.Stale, null), o).Delete);
    }

    [Fact]
    public async Task Given_the_decider_chose_to_delete_When_gitlab_answers_but_the_tag_still_holds_it_Then_that_is_recorded_as_not_deleted()
    {
        var state = Fold(Failed);
        state = WorkflowDecider.Decide(Command<ObserveCleanup>(await world.StepAsync(state, At(31))), state).Events.Aggregate(state, WorkflowEvolver.Evolve);
        world.GitLab.OnDeleteTag = (_, _) => false;

        var done = Command<RecordUpstreamCleanup>(await world.StepAsync(state, At(32)));

        Assert.Equal((false, Digest), (done.Deleted, done.Found));
        Assert.True(WorkflowDecider.Decide(done, state).IsRejected);
    }

    [Fact]
    public async Task Given_the_decider_chose_to_delete_When_another_image_was_pushed_under_the_tag_since_Then_it_stays()
    {
        var state = Fold(Failed);
        state = WorkflowDecider.Decide(Command<ObserveCleanup>(await world.StepAsync(state, At(31))), state).Events.Aggregate(state, WorkflowEvolver.Evolve);
        world.Registry[(Repo, Tag)] = new RegistryImage(Other, "c0ffee", 99, 9);

        var done = Command<RecordUpstreamCleanup>(await world.StepAsync(state, At(32)));

        Assert.Equal((false, Other), (done.Deleted, done.Found));
        Assert.DoesNotContain(world.GitLab.Calls, c => c.StartsWith("delete", StringComparison.Ordinal));
        Assert.True(world.Registry.ContainsKey((Repo, Tag)));
    }
}
