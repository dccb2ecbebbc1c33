using Orchestrator.Adapters.Git;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Git.GitWorld;

namespace Orchestrator.IntegrationTests.Git;

/// <summary>
/// The preview behind re-approval: what the rewrite would push, nothing pushed, and whether the merge request's changes
/// stay the same (one patch id of the diff from the merge base, before and after), judged on real git.
/// </summary>
public sealed class GitWorkerPreviewTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    private static string Lines(Func<int, string> line) => string.Concat(Enumerable.Range(1, 10).Select(i => line(i) + "\n"));

    /// <summary>Ten lines on main, an MR branch that edits line 6, then main edits the file as given: the preview of the MR's rebase.</summary>
    private static async Task<(GitRewriteResult.Previewed Preview, string Expected, GitWorld W)> PreviewAfter(string tag, SandboxFixture sandbox,
        string mainEdit, string file = "notes.txt")
    {
        var w = await CreateAsync(sandbox, tag);
        await Commit(w.Maintainer, w.Upstream, "main", "notes", file, Lines(i => $"l{i}"));
        var expected = await Commit(w.Author, w.Upstream, "topic", "edit line 6", file, Lines(i => i == 6 ? "L6" : $"l{i}"), "update", startBranch: "main");
        await Commit(w.Maintainer, w.Upstream, "main", "main edits", mainEdit.Length == 0 ? "other.txt" : file, mainEdit.Length == 0 ? "o\n" : mainEdit,
            mainEdit.Length == 0 ? "create" : "update");
        var result = await w.Worker().PreviewAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed));
        return (Assert.IsType<GitRewriteResult.Previewed>(result), expected, w);
    }

    [Fact]
    public async Task Given_a_rebase_that_changes_nothing_of_the_mr_When_previewed_Then_the_patch_ids_agree_and_nothing_is_pushed()
    {
        var (p, expected, w) = await PreviewAfter("same", sandbox, mainEdit: "");

        Assert.NotNull(p.OldPatchId);
        Assert.Equal(p.OldPatchId, p.NewPatchId);
        Assert.Equal(expected, await w.Head(w.Upstream, "topic"));
        Assert.Equal(await w.Head(w.Upstream, "main"), p.Onto);
        // The preview's head is the commit the push then makes, to the SHA.
        Assert.Equal(p.Head, Assert.IsType<GitRewriteResult.Pushed>(await w.Worker().RewriteAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed))).Head);
    }

    [Fact]
    public async Task Given_main_moving_lines_above_the_hunk_When_previewed_Then_only_line_numbers_changed_and_the_patch_ids_agree()
    {
        var (p, _, _) = await PreviewAfter("shift", sandbox, mainEdit: "new 1\nnew 2\n" + Lines(i => $"l{i}"));

        Assert.NotNull(p.OldPatchId);
        Assert.Equal(p.OldPatchId, p.NewPatchId);
    }

    [Theory]
    [InlineData("context", 8, "L8")]
    [InlineData("whitespace", 4, "l4 ")]
    public async Task Given_main_changing_the_hunks_context_When_previewed_Then_the_patch_ids_differ(string tag, int line, string text)
    {
        var (p, _, _) = await PreviewAfter(tag, sandbox, Lines(i => i == line ? text : $"l{i}"));

        Assert.NotNull(p.OldPatchId);
        Assert.NotNull(p.NewPatchId);
        Assert.NotEqual(p.OldPatchId, p.NewPatchId);
    }

    [Fact]
    public async Task Given_a_conflicting_rebase_When_previewed_Then_it_is_the_conflict_a_push_would_meet()
    {
        var w = await CreateAsync(sandbox, "conflict");
        await Commit(w.Maintainer, w.Upstream, "main", "notes", "notes.txt", "a\n");
        var expected = await Commit(w.Author, w.Upstream, "topic", "mine", "notes.txt", "mine\n", "update", startBranch: "main");
        await Commit(w.Maintainer, w.Upstream, "main", "theirs", "notes.txt", "theirs\n", "update");

        Assert.IsType<GitRewriteResult.Conflict>(await w.Worker().PreviewAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed)));
    }
}
