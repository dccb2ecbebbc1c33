using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Sandbox.Tests.Contract;

/// <summary>The sandbox's answers carry every field of GitLab's documented examples, with values from what the test created.</summary>
public sealed class ApiContractTests(SandboxHost host, ITestOutputHelper output) : IClassFixture<SandboxHost>
{
    // Fixtures of GitLab's CI and registry APIs, covered by CiContractTests.
    private static readonly string[] CoveredByCiContract =
    [
        "job.json", "merge_request_pipeline.create.json", "pipeline.cancel.json", "pipeline.create.json", "pipeline.json", "pipeline_jobs.json",
        "pipeline_variables.json", "pipelines.list.json", "registry_repositories.json", "registry_repository.json", "registry_tag.json",
        "registry_tags.list.json",
    ];

    // GitLab sends null in these fields for an open, unmerged MR with no pipeline and no milestone.
    private static readonly HashSet<string> OpenMergeRequestNulls =
    [
        "$.merged_by", "$.merge_user", "$.merged_at", "$.merge_after", "$.milestone", "$.pipeline", "$.head_pipeline",
        "$.latest_build_started_at",
        "$[].merged_by", "$[].merge_user", "$[].merged_at", "$[].merge_after", "$[].milestone", "$[].pipeline",
        "$[].head_pipeline", "$[].latest_build_started_at",
        // Set only by a merge call that asks for it (merge_params), so null on an open MR.
        "$[].should_remove_source_branch",
    ];

    // The commit read here has no pipeline (no .gitlab-ci.yml in that project), so GitLab sends null for both.
    private static readonly HashSet<string> NoPipelineYet = ["$.last_pipeline", "$.status"];

    [Fact]
    public void Given_the_fixture_folder_When_listed_Then_every_api_fixture_is_covered_by_a_contract_test()
    {
        var covered = new[] { "branch.json", "commit.json", "compare.json", "merge_base.json", "merge_request.json", "merge_requests.list.json", "note.merge_request.json" };
        Assert.Equal(Fixtures.GitLabApiFiles(), covered.Concat(CoveredByCiContract).Concat(TrustContractTests.Covered).Order());
    }

    [Fact]
    public async Task Given_a_fork_merge_request_When_read_Then_it_matches_gitlabs_merge_request_examples_with_our_values()
    {
        var w = await World.CreateAsync(host, "contract1");
        var fork = w.Fork.Long("id");
        var upstream = w.Upstream.Long("id");
        var commit = await w.Contributor.Post($"projects/{fork}/repository/commits",
            World.Commit("bump-tag", "Bump the build image tag", "tags.yml", "TAG: 2\n", startBranch: "main"));
        var maintainer = await w.Maintainer.Get("user");
        var mr = await w.Contributor.Post($"projects/{fork}/merge_requests", new
        {
            source_branch = "bump-tag", target_branch = "main", title = "Bump tag", description = "Needs a rebuild",
            target_project_id = upstream, allow_collaboration = true,
        });
        // The fork's author is not a member upstream, so only the target's maintainer may set labels and people.
        await w.Maintainer.Put($"projects/{upstream}/merge_requests/{mr.Long("iid")}", new
        {
            labels = "ci,images", assignee_id = maintainer.Long("id"), reviewer_ids = new[] { maintainer.Long("id") },
        });

        var single = await w.Maintainer.Get($"projects/{upstream}/merge_requests/{mr.Long("iid")}");
        var list = await w.Maintainer.Get($"projects/{upstream}/merge_requests?state=opened");

        AssertShape(Fixtures.GitLabApi("merge_request.json"), single, OpenMergeRequestNulls);
        AssertShape(Fixtures.GitLabApi("merge_requests.list.json"), list, OpenMergeRequestNulls);
        Assert.Equal("Bump tag", single.Str("title"));
        Assert.Equal("Needs a rebuild", single.Str("description"));
        Assert.Equal("opened", single.Str("state"));
        Assert.Equal(upstream, single.Long("project_id"));
        Assert.Equal(fork, single.Long("source_project_id"));
        Assert.Equal(upstream, single.Long("target_project_id"));
        Assert.Equal(commit.Str("id"), single.Str("sha"));
        Assert.Equal(commit.Str("id"), single["diff_refs"]!.Str("head_sha"));
        Assert.Equal(commit["parent_ids"]![0]!.GetValue<string>(), single["diff_refs"]!.Str("base_sha"));
        Assert.Equal(w.ContributorName, single["author"]!.Str("username"));
        Assert.Equal(maintainer.Str("username"), single["assignee"]!.Str("username"));
        Assert.Equal(maintainer.Str("username"), single["reviewers"]![0]!.Str("username"));
        Assert.Equal(["ci", "images"], single["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal($"!{mr.Long("iid")}", single.Str("reference"));
        Assert.Equal("1", single.Str("changes_count"));
        Assert.True(single["allow_collaboration"]!.GetValue<bool>());
        Assert.Equal(single.Long("id"), Assert.Single(list.AsArray())!.Long("id"));
    }

    [Fact]
    public async Task Given_a_branch_with_commits_When_read_Then_branch_commit_compare_and_merge_base_match_gitlabs_examples()
    {
        var w = await World.CreateAsync(host, "contract2");
        var id = w.Upstream.Long("id");
        var main = await w.Maintainer.Get($"projects/{id}/repository/branches/main");
        var first = await w.Maintainer.Post($"projects/{id}/repository/commits",
            World.Commit("topic", "Add the container build script\n\nLonger body.", "build.sh", "echo build\n", startBranch: "main"));
        var second = await w.Maintainer.Post($"projects/{id}/repository/commits",
            World.Commit("topic", "Tune the build", "build.sh", "echo build\necho tuned\n", action: "update"));

        var branch = await w.Maintainer.Get($"projects/{id}/repository/branches/topic");
        var commit = await w.Maintainer.Get($"projects/{id}/repository/commits/{second.Str("id")}");
        var compare = await w.Maintainer.Get($"projects/{id}/repository/compare?from=main&to=topic");
        var mergeBase = await w.Maintainer.Get($"projects/{id}/repository/merge_base?refs[]=main&refs[]=topic");

        AssertShape(Fixtures.GitLabApi("branch.json"), branch, new HashSet<string>());
        AssertShape(Fixtures.GitLabApi("commit.json"), commit, NoPipelineYet);
        AssertShape(Fixtures.GitLabApi("compare.json"), compare, new HashSet<string>());
        AssertShape(Fixtures.GitLabApi("merge_base.json"), mergeBase, new HashSet<string>());

        Assert.Equal("topic", branch.Str("name"));
        Assert.Equal(second.Str("id"), branch["commit"]!.Str("id"));
        Assert.False(branch["protected"]!.GetValue<bool>());
        Assert.True(main["protected"]!.GetValue<bool>());
        Assert.True(main["default"]!.GetValue<bool>());
        Assert.Equal([first.Str("id")], commit["parent_ids"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal("Tune the build", commit.Str("title"));
        Assert.Equal(1, commit["stats"]!.Long("additions"));
        Assert.Equal([first.Str("id"), second.Str("id")], compare["commits"]!.AsArray().Select(c => c!.Str("id")));
        Assert.Equal(second.Str("id"), compare["commit"]!.Str("id"));
        var diff = Assert.Single(compare["diffs"]!.AsArray())!;
        Assert.Equal("build.sh", diff.Str("new_path"));
        Assert.True(diff["new_file"]!.GetValue<bool>());
        Assert.Contains("+echo tuned", diff.Str("diff"));
        Assert.Equal(main["commit"]!.Str("id"), mergeBase.Str("id"));
    }

    [Fact]
    public async Task Given_a_merge_request_When_a_note_is_posted_Then_it_matches_gitlabs_note_example()
    {
        var w = await World.CreateAsync(host, "contract3");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("n", "n", "n.txt", "n\n", startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "n", target_branch = "main", title = "Notes" });

        var note = await w.Contributor.Post($"projects/{id}/merge_requests/{mr.Long("iid")}/notes", new { body = "I couldn't merge this merge request: CI failed!" });

        AssertShape(Fixtures.GitLabApi("note.merge_request.json"), note, new HashSet<string>());
        Assert.Equal("I couldn't merge this merge request: CI failed!", note.Str("body"));
        Assert.Equal(w.ContributorName, note["author"]!.Str("username"));
        Assert.Equal(mr.Long("iid"), note.Long("noteable_iid"));
        Assert.Equal(mr.Long("id"), note.Long("noteable_id"));
        Assert.Equal(id, note.Long("project_id"));
        Assert.Equal("MergeRequest", note.Str("noteable_type"));
    }

    private void AssertShape(JsonNode expected, JsonNode actual, ISet<string> nullable)
    {
        var problems = Shape.Differences(expected, actual, nullable);
        foreach (var p in problems) output.WriteLine(p);
        Assert.Empty(problems);
    }
}
