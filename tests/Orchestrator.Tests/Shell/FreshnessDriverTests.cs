using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Shell;

/// <summary>The freshness check's shell records what the glob match uses (the globs, the changed paths), not a verdict of its own.</summary>
public sealed class FreshnessDriverTests
{
    private const string TagFile = ".gitlab-ci/image-tags.yml";
    private readonly ShellWorld world = new();

    [Fact]
    public async Task Given_an_mr_that_changes_paths_When_its_images_are_checked_Then_the_observation_carries_the_globs_and_the_paths_that_could_match()
    {
        string[] globs = [".gitlab-ci/container/**"];
        world.Policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", TagFile, "TAG", globs)], "mesa/mesa");
        world.GitLab.Files[(TagFile, RebasedSha)] = "TAG: t0\n";
        world.GitLab.Files[(TagFile, TargetSha)] = "TAG: t0\n";
        world.GitLab.Changes[(TargetSha, RebasedSha)] = new(["src/main.c", ".gitlab-ci/container/build.sh"]);

        var check = Assert.IsType<RecordFreshness>(Assert.IsType<StepResult.Decide>(await world.StepAsync(Fold(Checking), At(3))).Command);

        var seen = Assert.Single(check.Observations!);
        Assert.Equal(globs, seen.Inputs);
        Assert.Equal([".gitlab-ci/container/build.sh"], seen.ChangedByMergeRequest!.Paths);
        Assert.Equal((0, 2), (seen.ChangedByMergeRequest.Omitted, seen.ChangedByMergeRequest.Total));
        // No image of its own was read, so nothing was compared since one: recorded as no comparison, not as "unchanged".
        Assert.Null(seen.ChangedSinceSourceCommit);
        // The older booleans are the rule's own answer, for readers of those fields.
        Assert.True(seen.InputsChangedByMergeRequest);
        Assert.Equal(FreshnessVerdict.Unbumped, Freshness.Assess(seen).Verdict);
    }

    [Fact]
    public async Task Given_a_comparison_gitlab_did_not_finish_When_the_images_are_checked_Then_it_is_recorded_incomplete_and_the_inputs_count_as_changed()
    {
        world.Policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", TagFile, "TAG", [".gitlab-ci/container/**"])], "mesa/mesa");
        world.GitLab.Files[(TagFile, RebasedSha)] = "TAG: t0\n";
        world.GitLab.Files[(TagFile, TargetSha)] = "TAG: t0\n";
        // compare_timeout: GitLab lists what it had compared when it gave up, here nothing of the inputs.
        world.GitLab.Changes[(TargetSha, RebasedSha)] = new(["src/main.c"], Complete: false);

        var check = Assert.IsType<RecordFreshness>(Assert.IsType<StepResult.Decide>(await world.StepAsync(Fold(Checking), At(3))).Command);

        var seen = Assert.Single(check.Observations!);
        Assert.True(seen.ChangedByMergeRequest!.Incomplete);
        Assert.Empty(seen.ChangedByMergeRequest.Paths);
        Assert.Equal(FreshnessVerdict.Unbumped, Freshness.Assess(seen).Verdict);
    }

    /// <summary>A same-project MR whose own commit's image is in the project's registry, its labels naming a real job of it.</summary>
    private void OwnImageBuilt(bool? forkPipelinesRun)
    {
        const string commit = "c0ffee";
        world.Policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", TagFile, "TAG", [".gitlab-ci/container/**"])], "mesa/mesa");
        world.GitLab.Files[(TagFile, RebasedSha)] = "TAG: t1\n";
        world.GitLab.Files[(TagFile, TargetSha)] = "TAG: t0\n";
        world.GitLab.Changes[(TargetSha, RebasedSha)] = new([".gitlab-ci/image-tags.yml"]);
        world.GitLab.Changes[(commit, RebasedSha)] = new([]);
        world.Registry[("g/p/debian/x86_64_build", "t1")] = new RegistryImage("sha256:own", commit, 41, 4242);
        world.GitLab.MergeBases[(TargetSha, commit)] = TargetSha;
        world.GitLab.MergeBases[(commit, RebasedSha)] = commit;
        world.GitLab.Jobs[4242] = new Orchestrator.Adapters.GitLabJob(4242, "debian/x86_64_build", "success", new(41, commit), new(commit));
        world.GitLab.ForkPipelinesRun = forkPipelinesRun;
    }

    [Theory]
    [InlineData(false, FreshnessVerdict.Fresh)]
    [InlineData(true, FreshnessVerdict.Stale)]
    [InlineData(null, FreshnessVerdict.Stale)]
    public async Task Given_the_request_s_own_image_When_checked_Then_whether_fork_pipelines_may_run_in_the_project_is_recorded_and_judged(
        bool? forkPipelinesRun, FreshnessVerdict verdict)
    {
        OwnImageBuilt(forkPipelinesRun);

        var check = Assert.IsType<RecordFreshness>(Assert.IsType<StepResult.Decide>(await world.StepAsync(Fold(Checking), At(3))).Command);

        var seen = Assert.Single(check.Observations!);
        Assert.Equal(forkPipelinesRun, seen.History!.ForkPipelinesRun);
        Assert.Equal(verdict, Freshness.Assess(seen).Verdict);
    }
}
