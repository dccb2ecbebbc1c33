using System.Net.Http.Json;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>Projects that squash: GitLab squashes as the project requires, and what lands has exactly the tree our pipeline tested.</summary>
public sealed class SquashWorkflowTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Theory]
    [InlineData("ff", "always", true)]
    [InlineData("merge", "always", true)]
    [InlineData("ff", "never", false)]
    public async Task Given_a_project_squash_option_When_an_mr_of_two_commits_merges_Then_main_has_the_tested_tree_squashed_as_the_project_requires(
        string method, string squash, bool squashed)
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "sq" + method + squash);
        var maintainer = h.As("maintainer");
        (await maintainer.PutAsJsonAsync($"projects/{h.Upstream}", new { merge_method = method, squash_option = squash })).EnsureSuccessStatusCode();
        var iid = await h.OpenMrAsync("two-commits", "Two commits", new FileChange("create", "one.txt", "1\n"));
        await h.CommitAsync(h.As("bob"), h.Upstream, "two-commits", "second", [new FileChange("create", "two.txt", "2\n")]);
        var before = await h.MainHead();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        var mr = await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}");
        Assert.Equal(squashed, mr["squash_commit_sha"] is not null);
        var main = await h.MainHead();
        var landed = squashed ? mr["squash_commit_sha"]!.GetValue<string>() : s.RebasedSha!;
        // The commit that landed (the squash, or the tested commit itself) has the tree our pipeline tested.
        Assert.Empty((await h.Get(maintainer, $"projects/{h.Upstream}/repository/compare?from={s.RebasedSha}&to={landed}&straight=true"))["diffs"]!.AsArray());
        var parents = (await h.Get(maintainer, $"projects/{h.Upstream}/repository/commits/{landed}"))["parent_ids"]!.AsArray();
        // A squash is one commit on the target (the MR was rebased onto it); without one the tested commit lands with its own history.
        if (squashed) Assert.Equal(before, Assert.Single(parents)!.GetValue<string>());
        else Assert.NotEqual(before, Assert.Single(parents)!.GetValue<string>());
        if (method == "ff") Assert.Equal(landed, main);
        Assert.Equal(method == "ff" ? landed : mr["merge_commit_sha"]!.GetValue<string>(), s.MergeCommitSha);
    }
}
