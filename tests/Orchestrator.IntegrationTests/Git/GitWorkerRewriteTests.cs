using Orchestrator.Adapters.Git;
using Orchestrator.Domain.Trailers;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Git.GitWorld;

namespace Orchestrator.IntegrationTests.Git;

/// <summary>The git worker against the sandbox's git over HTTP: rebase with trailers, push with a lease, repeat safely.</summary>
public sealed class GitWorkerRewriteTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    private static Trailer PartOf(string url) => new("Part-of", $"<{url}>");

    /// <summary>An MR branch of two commits from main, then main moves on: the MR needs a rebase.</summary>
    private static async Task<string> BranchBehindMain(GitWorld w, GitProject source, HttpClient author, string branch)
    {
        await Commit(author, source, branch, "Add a\n\nWhy a.\n", "a.txt", "a\n", startBranch: "main");
        var head = await Commit(author, source, branch, "Add b\n\nSigned-off-by: Author <author@example.com>\n", "b.txt", "b\n");
        await Commit(w.Maintainer, w.Upstream, "main", "Main moves on", "main.txt", "main\n");
        return head;
    }

    [Fact]
    public async Task Given_a_same_project_MR_behind_main_When_rewritten_with_trailers_and_ci_skip_Then_its_commits_sit_on_main_each_with_every_trailer_once_and_no_pipeline_runs()
    {
        var w = await CreateAsync(sandbox, "same");
        await Commit(w.Maintainer, w.Upstream, "main", "CI", ".gitlab-ci.yml", "test:\n  script: [\"true\"]\n");
        var expected = await BranchBehindMain(w, w.Upstream, w.Author, "topic");
        var iid = await w.OpenMergeRequest(w.Author, w.Upstream, "topic");
        var main = await w.Head(w.Upstream, "main");

        var result = await w.Worker().RewriteAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed, PartOf(w.WebUrl(iid))));

        var pushed = Assert.IsType<GitRewriteResult.Pushed>(result);
        Assert.Equal((pushed.Head, main), (await w.Head(w.Upstream, "topic"), pushed.Onto));
        var mirror = w.Worker().MirrorPath(w.Upstream.Id);
        Assert.Equal(pushed.Commits.Reverse(), (await RunGit(null, "--git-dir=" + mirror, "rev-list", $"{main}..{pushed.Head}")).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(main, (await RunGit(null, "--git-dir=" + mirror, "rev-parse", pushed.Commits[0] + "^")).Trim());
        Assert.Equal(await RunGit(null, "--git-dir=" + mirror, "log", "-2", "--format=%an <%ae> %ad", expected),
            await RunGit(null, "--git-dir=" + mirror, "log", "-2", "--format=%an <%ae> %ad", pushed.Head));
        foreach (var sha in pushed.Commits)
        {
            var message = await RunGit(null, "--git-dir=" + mirror, "log", "-1", "--format=%B", sha);
            Assert.Single(CommitTrailers.Read(message), t => t.SameAs(Reviewed));
            Assert.Single(CommitTrailers.Read(message), t => t.SameAs(PartOf(w.WebUrl(iid))));
            Assert.Equal($"{Bot.Name} <{Bot.Email}> {Bot.When.ToUnixTimeSeconds()} +0100",
                (await RunGit(null, "--git-dir=" + mirror, "log", "-1", "--format=%cn <%ce> %ct %cd", "--date=format:%z", sha)).Trim());
        }
        // The author's push of the same branch did start one: only the push option keeps ours quiet.
        Assert.NotEmpty((await w.Maintainer.GetStringAsync($"projects/{w.Upstream.Id}/pipelines?sha={expected}")).Trim('[', ']'));
        Assert.Empty((await w.Maintainer.GetStringAsync($"projects/{w.Upstream.Id}/pipelines?sha={pushed.Head}")).Trim('[', ']'));
    }

    [Fact]
    public async Task Given_a_fork_MR_When_rewritten_Then_the_bot_pushes_to_the_fork_only_while_allow_collaboration_is_on()
    {
        var w = await CreateAsync(sandbox, "fork");
        var closed = await BranchBehindMain(w, w.Fork, w.Author, "closed");
        await w.OpenMergeRequest(w.Author, w.Fork, "closed", allowCollaboration: false);
        var open = await Commit(w.Author, w.Fork, "open", "Open change", "o.txt", "o\n", startBranch: "main");
        var iid = await w.OpenMergeRequest(w.Author, w.Fork, "open");

        var refused = await w.Worker().RewriteAsync(w.Rewrite(w.Fork, "closed", closed, PartOf(w.WebUrl(iid))));
        var pushed = await w.Worker().RewriteAsync(w.Rewrite(w.Fork, "open", open, PartOf(w.WebUrl(iid))));

        Assert.Equal("You are not allowed to push code to this project.", Assert.IsType<GitRewriteResult.Refused>(refused).Message);
        Assert.Equal(closed, await w.Head(w.Fork, "closed"));
        Assert.Equal(Assert.IsType<GitRewriteResult.Pushed>(pushed).Head, await w.Head(w.Fork, "open"));
        Assert.Equal(await w.Head(w.Upstream, "main"), ((GitRewriteResult.Pushed)pushed).Onto);
    }

    [Fact]
    public async Task Given_a_rewrite_pushed_When_the_same_request_comes_again_even_from_an_empty_mirror_Then_it_recognises_its_own_SHA_and_pushes_nothing()
    {
        var w = await CreateAsync(sandbox, "again");
        var expected = await BranchBehindMain(w, w.Upstream, w.Author, "topic");
        var request = w.Rewrite(w.Upstream, "topic", expected, Reviewed);

        var first = Assert.IsType<GitRewriteResult.Pushed>(await w.Worker().RewriteAsync(request));
        var second = await w.Worker().RewriteAsync(request);
        var afterCrash = await w.Worker(Directory.CreateTempSubdirectory("git-worker-fresh-").FullName).RewriteAsync(request);
        var otherTime = await w.Worker().RewriteAsync(request with { Committer = Bot with { When = Bot.When.AddSeconds(1) } });

        var repeat = Assert.IsType<GitRewriteResult.AlreadyPushed>(second);
        Assert.Equal((first.Head, first.Onto), (repeat.Head, repeat.Onto));
        Assert.Equal(first.Commits, repeat.Commits);
        Assert.Equal(first.Head, Assert.IsType<GitRewriteResult.AlreadyPushed>(afterCrash).Head);
        // Another committer time is another rewrite: the branch is no longer where that one started, so it is "someone pushed".
        Assert.Equal(first.Head, Assert.IsType<GitRewriteResult.SourceMoved>(otherTime).Actual);
        Assert.Equal(first.Head, await w.Head(w.Upstream, "topic"));
    }

    [Fact]
    public async Task Given_the_author_pushes_between_our_fetch_and_our_push_When_rewritten_Then_the_lease_refuses_and_the_author_commit_stays()
    {
        var w = await CreateAsync(sandbox, "lease");
        var expected = await BranchBehindMain(w, w.Upstream, w.Author, "topic");
        var worker = w.Worker();
        string? authors = null;
        worker.AfterFetch = async () => authors ??= await Commit(w.Author, w.Upstream, "topic", "Author's late fix", "late.txt", "late\n");

        var result = await worker.RewriteAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed));

        var moved = Assert.IsType<GitRewriteResult.SourceMoved>(result);
        Assert.Equal((expected, authors), (moved.Expected, moved.Actual));
        Assert.Equal(authors, await w.Head(w.Upstream, "topic"));
    }

    [Fact]
    public async Task Given_the_mirror_deleted_mid_run_When_rewritten_Then_it_is_rebuilt_and_the_push_goes_through()
    {
        var w = await CreateAsync(sandbox, "mirror");
        var expected = await BranchBehindMain(w, w.Upstream, w.Author, "topic");
        var worker = w.Worker();
        var mirror = worker.MirrorPath(w.Upstream.Id);
        var deletions = 0;
        worker.AfterFetch = () =>
        {
            if (deletions++ == 0) Directory.Delete(mirror, recursive: true);
            return Task.CompletedTask;
        };

        var result = await worker.RewriteAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed));

        Assert.Equal(2, deletions);
        Assert.Equal(Assert.IsType<GitRewriteResult.Pushed>(result).Head, await w.Head(w.Upstream, "topic"));
        Assert.True(File.Exists(Path.Combine(mirror, "HEAD")));
    }

    [Fact]
    public async Task Given_an_MR_changing_the_line_main_changed_When_rewritten_Then_a_conflict_names_the_commit_and_path_and_nothing_is_pushed()
    {
        var w = await CreateAsync(sandbox, "conflict");
        var expected = await Commit(w.Author, w.Upstream, "topic", "Reword", "README.md", "the author's words\n", action: "update", startBranch: "main");
        await Commit(w.Maintainer, w.Upstream, "main", "Reword too", "README.md", "the maintainer's words\n", action: "update");

        var result = await w.Worker().RewriteAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed));

        Assert.Equal((expected, "README.md"), (Assert.IsType<GitRewriteResult.Conflict>(result).Commit, ((GitRewriteResult.Conflict)result).Paths.Single()));
        Assert.Equal(expected, await w.Head(w.Upstream, "topic"));
    }
}
