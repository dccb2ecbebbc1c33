using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>GitLab's asynchrony and its order of merge checks, observed through the API.</summary>
public sealed class MergeRequestBehaviourTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private static async Task<(World W, long Project, JsonNode Mr)> OpenMr(SandboxHost host, string tag, string file = "f.txt", string content = "f\n")
    {
        var w = await World.CreateAsync(host, tag);
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "topic", file, content, startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "Topic" });
        return (w, id, mr);
    }

    private static Task<JsonNode> WaitChecked(World w, long id, long iid) =>
        w.Maintainer.WaitFor($"projects/{id}/merge_requests/{iid}", m => m.Str("merge_status") != "checking", TimeSpan.FromSeconds(10));

    [Fact]
    public async Task Given_a_new_push_When_the_mr_is_read_at_once_Then_merge_status_reads_checking_until_gitlab_has_rechecked()
    {
        var (w, id, mr) = await OpenMr(host, "async1");
        Assert.Equal("checking", mr.Str("merge_status"));
        Assert.Equal("checking", mr.Str("detailed_merge_status"));

        var settled = await WaitChecked(w, id, mr.Long("iid"));
        Assert.Equal(("can_be_merged", "mergeable"), (settled.Str("merge_status"), settled.Str("detailed_merge_status")));

        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "more", "g.txt", "g\n"));
        var again = await w.Maintainer.Get($"projects/{id}/merge_requests/{mr.Long("iid")}");
        Assert.Equal("checking", again.Str("merge_status"));
        await w.Maintainer.Put($"projects/{id}/merge_requests/{mr.Long("iid")}/merge", expect: HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Given_a_rebase_When_requested_Then_it_runs_in_the_background_and_moves_the_branch_onto_the_target()
    {
        var (w, id, mr) = await OpenMr(host, "async2");
        var iid = mr.Long("iid");
        var main = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "target moves", "m.txt", "m\n"));

        var answer = await w.Maintainer.Put($"projects/{id}/merge_requests/{iid}/rebase", new { skip_ci = true }, HttpStatusCode.Accepted);
        var during = await w.Maintainer.Get($"projects/{id}/merge_requests/{iid}?include_rebase_in_progress=true");
        var done = await w.Maintainer.WaitFor($"projects/{id}/merge_requests/{iid}?include_rebase_in_progress=true",
            m => !m["rebase_in_progress"]!.GetValue<bool>(), TimeSpan.FromSeconds(10));

        Assert.True(answer["rebase_in_progress"]!.GetValue<bool>());
        Assert.True(during["rebase_in_progress"]!.GetValue<bool>());
        Assert.Equal(mr.Str("sha"), during.Str("sha"));
        Assert.NotEqual(mr.Str("sha"), done.Str("sha"));
        Assert.Null(done["merge_error"]);
        Assert.Equal(main.Str("id"), done["diff_refs"]!.Str("base_sha"));
        var plain = await w.Maintainer.Get($"projects/{id}/merge_requests/{iid}");
        Assert.False(plain.AsObject().ContainsKey("rebase_in_progress"));
    }

    [Fact]
    public async Task Given_conflicting_changes_When_rebased_Then_merge_error_says_so_and_the_branch_stays()
    {
        var (w, id, mr) = await OpenMr(host, "async3", "same.txt", "ours\n");
        var iid = mr.Long("iid");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "theirs", "same.txt", "theirs\n"));

        await w.Maintainer.Put($"projects/{id}/merge_requests/{iid}/rebase", expect: HttpStatusCode.Accepted);
        var done = await w.Maintainer.WaitFor($"projects/{id}/merge_requests/{iid}?include_rebase_in_progress=true",
            m => !m["rebase_in_progress"]!.GetValue<bool>(), TimeSpan.FromSeconds(10));
        var settled = await WaitChecked(w, id, iid);

        Assert.StartsWith("Rebase failed", done.Str("merge_error"));
        Assert.Equal(mr.Str("sha"), done.Str("sha"));
        Assert.True(settled["has_conflicts"]!.GetValue<bool>());
        Assert.Equal(("cannot_be_merged", "conflict"), (settled.Str("merge_status"), settled.Str("detailed_merge_status")));
        await w.Maintainer.Put($"projects/{id}/merge_requests/{iid}/merge", expect: HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Given_a_mergeable_mr_When_merged_Then_gitlabs_checks_apply_in_order_401_405_409()
    {
        var (w, id, mr) = await OpenMr(host, "order1");
        var iid = mr.Long("iid");
        var path = $"projects/{id}/merge_requests/{iid}";
        await WaitChecked(w, id, iid);
        await w.Maintainer.Put(path, new { draft = true });

        // A stranger may not merge at all, draft or not: 401 comes first.
        var unauthorized = await w.Stranger.Put($"{path}/merge", new { sha = "0000" }, HttpStatusCode.Unauthorized);
        Assert.Equal("401 Unauthorized", unauthorized.Str("message"));
        // A draft is not mergeable: 405 before the sha is even looked at.
        var notAllowed = await w.Maintainer.Put($"{path}/merge", new { sha = "0000" }, HttpStatusCode.MethodNotAllowed);
        Assert.Equal("405 Method Not Allowed", notAllowed.Str("message"));

        var ready = await w.Maintainer.Put(path, new { draft = false });
        Assert.False(ready["draft"]!.GetValue<bool>());
        var conflict = await w.Maintainer.Put($"{path}/merge", new { sha = new string('0', 40) }, HttpStatusCode.Conflict);
        Assert.Equal($"SHA does not match HEAD of source branch: {mr.Str("sha")}", conflict.Str("message"));

        var merged = await w.Maintainer.Put($"{path}/merge", new { sha = mr.Str("sha"), should_remove_source_branch = true });
        Assert.Equal("merged", merged.Str("state"));
        await w.Maintainer.Get($"projects/{id}/repository/branches/topic", HttpStatusCode.NotFound);
        var main = await w.Maintainer.Get($"projects/{id}/repository/branches/main");
        Assert.Equal(merged.Str("merge_commit_sha"), main["commit"]!.Str("id"));
        Assert.Equal("405 Method Not Allowed", (await w.Maintainer.Put($"{path}/merge", expect: HttpStatusCode.MethodNotAllowed)).Str("message"));
    }

    [Fact]
    public async Task Given_required_approvals_and_resolved_discussions_When_missing_Then_merge_is_405_until_satisfied()
    {
        var (w, id, mr) = await OpenMr(host, "order2");
        var iid = mr.Long("iid");
        var path = $"projects/{id}/merge_requests/{iid}";
        await w.Maintainer.Put($"projects/{id}", new { approvals_before_merge = 1, only_allow_merge_if_all_discussions_are_resolved = true });
        var discussion = await w.Contributor.Post($"{path}/discussions", new { body = "Please bump the tag" });
        await WaitChecked(w, id, iid);

        var unresolved = await w.Maintainer.Get(path);
        Assert.Equal("discussions_not_resolved", unresolved.Str("detailed_merge_status"));
        Assert.False(unresolved["blocking_discussions_resolved"]!.GetValue<bool>());
        await w.Maintainer.Put($"{path}/merge", expect: HttpStatusCode.MethodNotAllowed);

        await w.Maintainer.Put($"{path}/discussions/{discussion.Str("id")}", new { resolved = true });
        Assert.Equal("not_approved", (await w.Maintainer.Get(path)).Str("detailed_merge_status"));
        await w.Maintainer.Put($"{path}/merge", expect: HttpStatusCode.MethodNotAllowed);

        // The author cannot approve their own MR; a member who is not the author can.
        await w.Maintainer.Post($"{path}/approve", expect: HttpStatusCode.Unauthorized);
        await w.Admin.Post($"projects/{id}/members", new { user_id = (await w.Contributor.Get("user")).Long("id"), access_level = 30 });
        var approvals = await w.Contributor.Post($"{path}/approve");
        Assert.Equal(0, approvals.Long("approvals_left"));
        Assert.Equal("mergeable", (await w.Maintainer.Get(path)).Str("detailed_merge_status"));
        await w.Maintainer.Put($"{path}/merge");
    }

    [Fact]
    public async Task Given_a_fast_forward_project_When_the_target_moved_Then_need_rebase_then_ff_merge_after_rebase()
    {
        var (w, id, mr) = await OpenMr(host, "ff1");
        var iid = mr.Long("iid");
        var path = $"projects/{id}/merge_requests/{iid}";
        await w.Maintainer.Put($"projects/{id}", new { merge_method = "ff" });
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "moves", "x.txt", "x\n"));
        Assert.Equal("need_rebase", (await WaitChecked(w, id, iid)).Str("detailed_merge_status"));
        await w.Maintainer.Put($"{path}/merge", expect: HttpStatusCode.MethodNotAllowed);

        await w.Maintainer.Put($"{path}/rebase", expect: HttpStatusCode.Accepted);
        await w.Maintainer.WaitFor($"{path}?include_rebase_in_progress=true", m => !m["rebase_in_progress"]!.GetValue<bool>(), TimeSpan.FromSeconds(10));
        var rebased = await WaitChecked(w, id, iid);
        var merged = await w.Maintainer.Put($"{path}/merge", new { sha = rebased.Str("sha") });

        Assert.Null(merged["merge_commit_sha"]);
        Assert.Equal(rebased.Str("sha"), (await w.Maintainer.Get($"projects/{id}/repository/branches/main"))["commit"]!.Str("id"));
    }

    [Fact]
    public async Task Given_closing_and_reopening_When_updated_Then_state_and_closed_by_follow()
    {
        var (w, id, mr) = await OpenMr(host, "close1");
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}";
        var closed = await w.Maintainer.Put(path, new { state_event = "close" });
        Assert.Equal("closed", closed.Str("state"));
        Assert.Equal(w.MaintainerName, closed["closed_by"]!.Str("username"));
        await w.Maintainer.Put($"{path}/merge", expect: HttpStatusCode.MethodNotAllowed);
        var reopened = await w.Maintainer.Put($"{path}?state_event=reopen");
        Assert.Equal("opened", reopened.Str("state"));
        Assert.Null(reopened["closed_by"]);
    }

    /// <summary>GitLab makes a diff version when the MR opens and at every push to its source branch, its own rebase's included.</summary>
    [Fact]
    public async Task Given_pushes_and_a_rebase_When_the_versions_are_listed_Then_each_head_is_a_version_newest_first()
    {
        var (w, id, mr) = await OpenMr(host, "versions1");
        var path = $"projects/{id}/merge_requests/{mr.Long("iid")}";
        var opened = mr.Str("sha");
        var pushed = (await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "more", "g.txt", "g\n"))).Str("id");
        var main = (await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "main moves", "m.txt", "m\n"))).Str("id");
        await w.Maintainer.Put($"{path}/rebase", expect: HttpStatusCode.Accepted);
        await w.Maintainer.WaitFor($"{path}?include_rebase_in_progress=true", m => !m["rebase_in_progress"]!.GetValue<bool>(), TimeSpan.FromSeconds(10));
        var rebased = (await w.Maintainer.Get(path)).Str("sha");

        var versions = (await w.Maintainer.Get($"{path}/versions")).AsArray();

        Assert.Equal([rebased, pushed, opened], versions.Select(v => v!.Str("head_commit_sha")));
        Assert.Equal(main, versions[0]!.Str("start_commit_sha"));
        Assert.Equal(main, versions[0]!.Str("base_commit_sha"));
        Assert.True(versions[0]!.Long("id") > versions[1]!.Long("id"));
        Assert.Equal(mr.Long("id"), versions[0]!.Long("merge_request_id"));
    }
}
