using Orchestrator.Adapters.Git;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Git.GitWorld;

namespace Orchestrator.IntegrationTests.Git;

/// <summary>The git worker's merge train operations against the sandbox's git over HTTP: a merge-commit car, and branches moved back with a lease.</summary>
public sealed class GitWorkerTrainTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_a_merge_request_When_its_merge_commit_car_is_built_twice_Then_one_merge_commit_lands_on_the_train_branch_and_its_tree_is_gitlabs_merge()
    {
        var w = await CreateAsync(sandbox, "mcar");
        await Commit(w.Maintainer, w.Upstream, "main", "CI", ".gitlab-ci.yml", "test:\n  script: [\"true\"]\n");
        var own = await Commit(w.Author, w.Upstream, "topic", "Add a", "a.txt", "a\n", startBranch: "main");
        var main = await Commit(w.Maintainer, w.Upstream, "main", "Main moves on", "main.txt", "main\n");
        var car = new GitTrainMerge(w.Upstream, w.Upstream, "topic", own, main, "merge-train/main/1", "Merge branch 'topic'\n", Bot);

        var first = Assert.IsType<GitRewriteResult.Pushed>(await w.Worker().MergeCarAsync(car));
        var again = Assert.IsType<GitRewriteResult.AlreadyPushed>(await w.Worker().MergeCarAsync(car));

        Assert.Equal(first.Head, again.Head);
        Assert.Equal(first.Head, await w.Head(w.Upstream, "merge-train/main/1"));
        var mirror = w.Worker().MirrorPath(w.Upstream.Id);
        Assert.Equal($"{main} {own}", (await RunGit(null, "--git-dir=" + mirror, "log", "-1", "--format=%P", first.Head)).Trim());
        // ci.skip: the train branch's push started no pipeline; the merge request's own branch is untouched.
        Assert.Empty((await w.Maintainer.GetStringAsync($"projects/{w.Upstream.Id}/pipelines?sha={first.Head}")).Trim('[', ']'));
        Assert.Equal(own, await w.Head(w.Upstream, "topic"));
        var preview = await w.Worker().PreviewMergeAsync(w.Upstream, main, own, first.Head);
        Assert.Equal(preview.TestedTree, preview.MergedTree);
        Assert.Equal([preview.TestedTree], await w.Worker().TreesAsync(w.Upstream, [first.Head]));
    }

    [Fact]
    public async Task Given_a_car_branch_the_train_rewrote_When_it_is_put_back_Then_it_moves_only_from_the_trains_push_and_a_repeat_finds_it_there()
    {
        var w = await CreateAsync(sandbox, "reset");
        var own = await Commit(w.Author, w.Upstream, "car", "Mine", "m.txt", "m\n", startBranch: "main");
        var trains = await Commit(w.Maintainer, w.Upstream, "car", "The car ahead, rebased under mine", "ahead.txt", "x\n");

        Assert.IsType<GitRefUpdate.Done>(await w.Worker().ResetBranchAsync(w.Upstream, "car", own, trains));
        Assert.Equal(own, await w.Head(w.Upstream, "car"));
        Assert.IsType<GitRefUpdate.AlreadyThere>(await w.Worker().ResetBranchAsync(w.Upstream, "car", own, trains));

        // The author pushed after the train: their push is never overwritten.
        var theirs = await Commit(w.Author, w.Upstream, "car", "Newer work", "n.txt", "n\n");
        Assert.Equal(new GitRefUpdate.Moved(theirs), await w.Worker().ResetBranchAsync(w.Upstream, "car", trains, own));
        Assert.Equal(theirs, await w.Head(w.Upstream, "car"));

        // A deletion too, and only from the expected head.
        Assert.IsType<GitRefUpdate.Moved>(await w.Worker().ResetBranchAsync(w.Upstream, "car", null, own));
        Assert.IsType<GitRefUpdate.Done>(await w.Worker().ResetBranchAsync(w.Upstream, "car", null, theirs));
        Assert.Null(await w.Head(w.Upstream, "car"));
        Assert.IsType<GitRefUpdate.AlreadyThere>(await w.Worker().ResetBranchAsync(w.Upstream, "car", null, theirs));
    }
}
