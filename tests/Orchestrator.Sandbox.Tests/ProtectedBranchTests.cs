using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Protected branches as GitLab applies them to pushes and merges: any matching rule may grant, wildcards span slashes.</summary>
public sealed class ProtectedBranchTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const int Guest = 10, Reporter = 20, Developer = 30, Maintainer = 40;

    /// <summary>A developer's branch with one commit and an MR from it into <paramref name="target"/>, settled.</summary>
    private static async Task<JsonNode> MergeRequestInto(World w, HttpClient author, string source, string target)
    {
        var id = w.Upstream.Long("id");
        await author.Post($"projects/{id}/repository/commits", World.Commit(source, source, $"{source.Replace('/', '-')}.txt", "x\n", startBranch: target));
        var mr = await author.Post($"projects/{id}/merge_requests", new { source_branch = source, target_branch = target, title = source });
        return await author.WaitFor($"projects/{id}/merge_requests/{mr.Long("iid")}", m => m.Str("merge_status") != "checking", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Given_main_protected_for_maintainers_When_a_developer_merges_Then_401_and_a_maintainer_merges()
    {
        var w = await World.CreateAsync(host, "prot1");
        var id = w.Upstream.Long("id");
        var (developer, _) = await w.Member("dev", Developer);
        var mr = await MergeRequestInto(w, developer, "topic", "main");
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}";

        var refused = await developer.Put($"{path}/merge", expect: HttpStatusCode.Unauthorized);
        var merged = await w.Maintainer.Put($"{path}/merge");

        Assert.False(mr["user"]!["can_merge"]!.GetValue<bool>());
        Assert.Equal("401 Unauthorized", refused.Str("message"));
        Assert.Equal("merged", merged.Str("state"));
        await developer.Post($"projects/{id}/repository/commits", World.Commit("main", "direct", "d.txt", "d\n"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Given_a_wildcard_rule_release_star_When_branches_are_read_and_pushed_Then_release_1_0_and_release_a_b_are_protected()
    {
        var w = await World.CreateAsync(host, "prot2");
        var id = w.Upstream.Long("id");
        var (developer, _) = await w.Member("dev", Developer);
        await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "release/*" });
        foreach (var branch in new[] { "release/1.0", "release/a/b", "releases/1.0" })
            await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch, @ref = "main" });

        async Task<bool> Protected(string branch) =>
            (await w.Maintainer.Get($"projects/{id}/repository/branches/{Uri.EscapeDataString(branch)}"))["protected"]!.GetValue<bool>();

        Assert.True(await Protected("release/1.0"));
        Assert.True(await Protected("release/a/b"));
        Assert.False(await Protected("releases/1.0"));
        await developer.Post($"projects/{id}/repository/commits", World.Commit("release/a/b", "fix", "f.txt", "f\n"), HttpStatusCode.Forbidden);
        await developer.Post($"projects/{id}/repository/branches", new { branch = "release/2.0", @ref = "main" }, HttpStatusCode.Forbidden);
        await developer.Post($"projects/{id}/repository/commits", World.Commit("releases/1.0", "fix", "f.txt", "f\n"));
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("release/a/b", "fix", "f.txt", "f\n"));
    }

    [Fact]
    public async Task Given_a_protected_source_branch_When_a_developer_asks_for_a_rebase_Then_403_cannot_push_and_a_maintainer_only_where_force_push_is_allowed()
    {
        var w = await World.CreateAsync(host, "prot6");
        var id = w.Upstream.Long("id");
        var (developer, _) = await w.Member("dev", Developer);
        await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch = "next", @ref = "main" });
        var mr = await MergeRequestInto(w, w.Maintainer, "release/1.0", "next");
        await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "release/*" });
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}/rebase";

        var refused = await developer.Put(path, expect: HttpStatusCode.Forbidden);
        // A rebase rewrites the branch: GitLab's RebaseService#validate refuses it, whoever asks, where no matching rule allows force push.
        var noForce = await w.Maintainer.Put(path, expect: HttpStatusCode.Forbidden);
        await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "release/1.*", allow_force_push = true });
        await w.Maintainer.Put(path, expect: HttpStatusCode.Accepted);

        Assert.Equal("403 Forbidden - Cannot push to source branch", refused.Str("message"));
        Assert.Equal("403 Forbidden - Source branch is protected from force push", noForce.Str("message"));
        Assert.Equal(mr["sha"]!.GetValue<string>(), (await w.Maintainer.Get($"projects/{id}/repository/branches/release%2F1.0"))["commit"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_an_unprotected_branch_When_merged_Then_a_developer_may_and_a_reporter_may_not()
    {
        var w = await World.CreateAsync(host, "prot3");
        var id = w.Upstream.Long("id");
        var (developer, _) = await w.Member("dev", Developer);
        var (reporter, _) = await w.Member("rep", Reporter);
        await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch = "next", @ref = "main" });
        var mr = await MergeRequestInto(w, developer, "topic", "next");
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}";

        var refused = await reporter.Put($"{path}/merge", expect: HttpStatusCode.Unauthorized);
        var merged = await developer.Put($"{path}/merge");

        Assert.Equal("401 Unauthorized", refused.Str("message"));
        Assert.Equal("merged", merged.Str("state"));
    }

    [Fact]
    public async Task Given_a_rule_no_one_merges_but_one_user_When_merging_Then_that_user_and_those_who_may_push_merge_and_other_developers_get_401()
    {
        var w = await World.CreateAsync(host, "prot4");
        var id = w.Upstream.Long("id");
        var (chosen, chosenUser) = await w.Member("chosen", Developer);
        var (other, _) = await w.Member("other", Developer);
        await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch = "stable", @ref = "main" });
        await w.Maintainer.Post($"projects/{id}/protected_branches", new
        {
            name = "stable", merge_access_level = 0, allowed_to_merge = new[] { new { user_id = chosenUser.Long("id") } },
        });
        var first = await MergeRequestInto(w, other, "one", "stable");
        var second = await MergeRequestInto(w, other, "two", "stable");

        await other.Put($"projects/{id}/merge_requests/{first.Long("iid")}/merge", expect: HttpStatusCode.Unauthorized);
        var byChosen = await chosen.Put($"projects/{id}/merge_requests/{first.Long("iid")}/merge");
        // The first merge moved the target: GitLab rechecks the second MR before it may merge.
        await w.Maintainer.WaitFor($"projects/{id}/merge_requests/{second.Long("iid")}", m => m.Str("merge_status") != "checking", TimeSpan.FromSeconds(10));
        // Maintainers may push to it, and GitLab lets whoever may push to the target merge (can_update_branch?).
        var byPusher = await w.Maintainer.Put($"projects/{id}/merge_requests/{second.Long("iid")}/merge");
        var rule = await w.Maintainer.Get($"projects/{id}/protected_branches/stable");

        Assert.Equal(("merged", "merged"), (byChosen.Str("state"), byPusher.Str("state")));
        var merge = rule["merge_access_levels"]!.AsArray();
        Assert.Equal("No one", merge[0]!.Str("access_level_description"));
        Assert.Equal(chosenUser.Long("id"), merge[1]!.Long("user_id"));
    }

    [Fact]
    public async Task Given_protected_branch_endpoints_When_used_Then_they_page_find_by_exact_name_refuse_non_maintainers_and_unprotect()
    {
        var w = await World.CreateAsync(host, "prot5");
        var id = w.Upstream.Long("id");
        var (developer, _) = await w.Member("dev", Developer);
        var (guest, _) = await w.Member("guest", Guest);
        await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "release/*", push_access_level = 30, merge_access_level = 30 });

        var (page, headers) = await w.Maintainer.Page($"projects/{id}/protected_branches?per_page=1");
        var wildcard = await guest.Get($"projects/{id}/protected_branches/{Uri.EscapeDataString("release/*")}");
        var byBranchName = await w.Maintainer.Get($"projects/{id}/protected_branches/{Uri.EscapeDataString("release/1.0")}", HttpStatusCode.NotFound);
        var duplicate = await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "main" }, HttpStatusCode.Conflict);
        await developer.Post($"projects/{id}/protected_branches", new { name = "next" }, HttpStatusCode.Forbidden);
        await developer.Delete($"projects/{id}/protected_branches/main", HttpStatusCode.Forbidden);
        await w.Maintainer.Delete($"projects/{id}/protected_branches/main");

        Assert.Equal(("2", "2", "1"), (headers["x-total"], headers["x-next-page"], headers["x-per-page"]));
        Assert.Equal("main", Assert.Single(page)!.Str("name"));
        Assert.Equal("release/*", wildcard.Str("name"));
        Assert.Equal("Developers + Maintainers", wildcard["push_access_levels"]![0]!.Str("access_level_description"));
        Assert.Equal("404 Not found", byBranchName.Str("message"));
        Assert.Equal("Protected branch 'main' already exists", duplicate.Str("message"));
        await w.Maintainer.Get($"projects/{id}/protected_branches/main", HttpStatusCode.NotFound);
        Assert.False((await w.Maintainer.Get($"projects/{id}/repository/branches/main"))["protected"]!.GetValue<bool>());
        await developer.Post($"projects/{id}/repository/commits", World.Commit("main", "now open", "o.txt", "o\n"));
    }
}
