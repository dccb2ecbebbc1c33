using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>
/// Pushes with the real git client: GitLab's pre-receive refusals (protected branches, force pushes, fork branches
/// without allow_collaboration), and what a push sets off, the same as an API push.
/// </summary>
public sealed class GitHttpPushTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const int Developer = 30;

    private static string Declined(string message) => $"remote: GitLab: {message}";

    [Fact]
    public async Task Given_main_protected_for_maintainers_When_a_developer_pushes_to_it_Then_pre_receive_declines_it_and_a_topic_branch_goes_through()
    {
        var w = await World.CreateAsync(host, "gitpush1");
        var id = w.Upstream.Long("id");
        var (developer, developerUser) = await w.Member("dev", Developer);
        var who = GitRemote.As(developer, developerUser.Str("username"));
        var main = (await w.Maintainer.Get($"projects/{id}/repository/branches/main"))["commit"]!.Str("id");
        var clone = await GitRemote.Clone(GitRemote.Url(host, w.Upstream), who);
        var sha = await GitRemote.Commit(clone, "dev.txt", "dev\n", "Developer change");

        var toMain = await GitRemote.Run(clone, who, "push", "origin", "HEAD:main");
        var toTopic = await GitRemote.Run(clone, who, "push", "origin", "HEAD:refs/heads/topic");

        Assert.Contains(Declined("You are not allowed to push code to protected branches on this project."), toMain.Stderr);
        Assert.Contains("[remote rejected] HEAD -> main (pre-receive hook declined)", toMain.Stderr);
        Assert.Equal(main, (await w.Maintainer.Get($"projects/{id}/repository/branches/main"))["commit"]!.Str("id"));
        Assert.Equal(0, toTopic.ExitCode);
        Assert.Equal(sha, (await w.Maintainer.Get($"projects/{id}/repository/branches/topic"))["commit"]!.Str("id"));
    }

    [Fact]
    public async Task Given_protected_branches_When_a_maintainer_force_pushes_or_deletes_Then_only_a_rule_allowing_force_push_lets_it_rewrite()
    {
        var w = await World.CreateAsync(host, "gitpush2");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "release/*", allow_force_push = true });
        var who = GitRemote.As(w.Maintainer, w.MaintainerName);
        var clone = await GitRemote.Clone(GitRemote.Url(host, w.Upstream), who);
        var first = await GitRemote.Commit(clone, "a.txt", "a\n", "First");
        await GitRemote.Commit(clone, "b.txt", "b\n", "Second");
        Assert.Equal(0, (await GitRemote.Run(clone, who, "push", "origin", "HEAD:main", "HEAD:refs/heads/release/1.0")).ExitCode);

        var forcedMain = await GitRemote.Run(clone, who, "push", "--force", "origin", $"{first}:main");
        var forcedRelease = await GitRemote.Run(clone, who, "push", "--force", "origin", $"{first}:release/1.0");
        var deleted = await GitRemote.Run(clone, who, "push", "origin", ":release/1.0");

        Assert.Contains(Declined("You are not allowed to force push code to a protected branch on this project."), forcedMain.Stderr);
        Assert.NotEqual(first, (await w.Maintainer.Get($"projects/{id}/repository/branches/main"))["commit"]!.Str("id"));
        Assert.Equal(0, forcedRelease.ExitCode);
        Assert.Equal(first, (await w.Maintainer.Get($"projects/{id}/repository/branches/release%2F1.0"))["commit"]!.Str("id"));
        Assert.Contains(Declined("You can only delete protected branches using the web interface."), deleted.Stderr);
    }

    [Fact]
    public async Task Given_a_fork_MR_When_a_target_maintainer_pushes_to_its_source_branch_Then_only_allow_collaboration_lets_it_and_the_MR_follows()
    {
        var w = await World.CreateAsync(host, "gitpush3");
        var upstream = w.Upstream.Long("id");
        var fork = w.Fork.Long("id");
        var author = GitRemote.As(w.Contributor, w.ContributorName);
        var authorClone = await GitRemote.Clone(GitRemote.Url(host, w.Fork), author);
        await GitRemote.Commit(authorClone, "feature.txt", "feature\n", "Feature");
        Assert.Equal(0, (await GitRemote.Run(authorClone, author, "push", "origin", "HEAD:refs/heads/feature")).ExitCode);
        var mr = await w.Contributor.Post($"projects/{fork}/merge_requests", new
        {
            source_branch = "feature", target_branch = "main", title = "Feature", target_project_id = upstream, allow_collaboration = false,
        });
        var maintainer = GitRemote.As(w.Maintainer, w.MaintainerName);
        var clone = await GitRemote.Clone(GitRemote.Url(host, w.Fork), maintainer);
        await GitRemote.Run(clone, null, "checkout", "-q", "feature");
        var sha = await GitRemote.Commit(clone, "review.txt", "fix\n", "Maintainer fix-up");

        var closed = await GitRemote.Run(clone, maintainer, "push", "origin", "HEAD:feature");
        await w.Contributor.Put($"projects/{upstream}/merge_requests/{mr.Long("iid")}", new { allow_collaboration = true });
        var open = await GitRemote.Run(clone, maintainer, "push", "origin", "HEAD:feature");
        var elsewhere = await GitRemote.Run(clone, maintainer, "push", "origin", "HEAD:refs/heads/other");

        Assert.Contains("remote: You are not allowed to push code to this project.", closed.Stderr);
        Assert.Equal(0, open.ExitCode);
        Assert.Contains(Declined("You are not allowed to push code to this project."), elsewhere.Stderr);
        var settled = await w.Maintainer.WaitFor($"projects/{upstream}/merge_requests/{mr.Long("iid")}",
            m => m.Str("merge_status") != "checking", TimeSpan.FromSeconds(10));
        Assert.Equal(sha, settled.Str("sha"));
    }

    [Fact]
    public async Task Given_CI_and_a_push_hook_When_branches_are_pushed_with_git_and_through_the_API_Then_the_same_pipeline_hook_and_MR_update_follow()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "gitpush4");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/hooks", new { url = receiver.Url, push_events = true, merge_requests_events = true });
        var ci = "show:\n  script: [\"echo greeting=$GREETING\"]\n";
        var api = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("api-side", "CI", ".gitlab-ci.yml", ci, startBranch: "main"));
        var who = GitRemote.As(w.Maintainer, w.MaintainerName);
        var clone = await GitRemote.Clone(GitRemote.Url(host, w.Upstream), who);
        var sha = await GitRemote.Commit(clone, ".gitlab-ci.yml", ci, "CI");

        Assert.Equal(0, (await GitRemote.Run(clone, who, "push", "origin", "HEAD:refs/heads/git-side")).ExitCode);

        var byApi = await w.Maintainer.Get($"projects/{id}/pipelines/{(await w.Maintainer.LatestPipeline(id, "api-side", api.Str("id"))).Long("id")}");
        var byGit = await w.Maintainer.Get($"projects/{id}/pipelines/{(await w.Maintainer.LatestPipeline(id, "git-side", sha)).Long("id")}");
        Assert.Equal((byApi.Str("source"), byApi["user"]!.Str("username")), (byGit.Str("source"), byGit["user"]!.Str("username")));
        Assert.Equal("success", (await w.Maintainer.WaitForPipeline(id, byGit.Long("id"))).Str("status"));
        var apiHook = await receiver.WaitFor(h => h.Event == "Push Hook" && h.Body.Str("after") == api.Str("id"));
        var gitHook = await receiver.WaitFor(h => h.Event == "Push Hook" && h.Body.Str("after") == sha);
        Assert.Equal(Keys(apiHook.Body), Keys(gitHook.Body));
        Assert.Equal(("refs/heads/git-side", new string('0', 40), sha, w.MaintainerName, 1L),
            (gitHook.Body.Str("ref"), gitHook.Body.Str("before"), gitHook.Body.Str("checkout_sha"), gitHook.Body.Str("user_username"),
                gitHook.Body.Long("total_commits_count")));
        Assert.Equal(sha, gitHook.Body["commits"]![0]!.Str("id"));

        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "git-side", target_branch = "main", title = "Git side" });
        var next = await GitRemote.Commit(clone, "more.txt", "more\n", "More");
        Assert.Equal(0, (await GitRemote.Run(clone, who, "push", "origin", "HEAD:git-side")).ExitCode);
        var update = await receiver.WaitFor(h => h.Event == "Merge Request Hook" && h.Body["object_attributes"]!.Str("action") == "update");
        Assert.Equal((sha, next), (update.Body["object_attributes"]!.Str("oldrev"), update.Body["object_attributes"]!["last_commit"]!.Str("id")));
        Assert.Equal(mr.Long("iid"), update.Body["object_attributes"]!.Long("iid"));
        await w.Maintainer.LatestPipeline(id, "git-side", next);
    }

    [Fact]
    public async Task Given_push_options_When_pushed_with_ci_skip_or_ci_variable_Then_no_pipeline_runs_or_the_pipeline_sees_the_variable()
    {
        await using var receiver = await HookReceiver.StartAsync();
        var w = await World.CreateAsync(host, "gitpush5");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/hooks", new { url = receiver.Url, push_events = true });
        var who = GitRemote.As(w.Maintainer, w.MaintainerName);
        var clone = await GitRemote.Clone(GitRemote.Url(host, w.Upstream), who);
        var skipped = await GitRemote.Commit(clone, ".gitlab-ci.yml", "show:\n  script: [\"echo greeting=$GREETING\"]\n", "CI");

        Assert.Equal(0, (await GitRemote.Run(clone, who, "push", "-o", "ci.skip", "origin", "HEAD:refs/heads/quiet")).ExitCode);
        var varied = await GitRemote.Commit(clone, "v.txt", "v\n", "With a variable");
        Assert.Equal(0, (await GitRemote.Run(clone, who, "push", "-o", "ci.variable=GREETING=hello, world", "origin", "HEAD:refs/heads/loud")).ExitCode);

        // A push's pipeline exists once git's push returns; the skipped push still sends its hook.
        await receiver.WaitFor(h => h.Event == "Push Hook" && h.Body.Str("after") == skipped);
        Assert.Empty((await w.Maintainer.Get($"projects/{id}/pipelines?sha={skipped}")).AsArray());
        var pipeline = await w.Maintainer.LatestPipeline(id, "loud", varied);
        var variables = (await w.Maintainer.Get($"projects/{id}/pipelines/{pipeline.Long("id")}/variables")).AsArray();
        Assert.Equal(("GREETING", "hello, world"), (variables.Single()!.Str("key"), variables.Single()!.Str("value")));
        Assert.Equal("success", (await w.Maintainer.WaitForPipeline(id, pipeline.Long("id"))).Str("status"));
        var job = (await w.Maintainer.Get($"projects/{id}/pipelines/{pipeline.Long("id")}/jobs")).AsArray().Single()!;
        Assert.Contains("greeting=hello, world", await w.Maintainer.Trace(id, job.Long("id")));
    }

    [Fact]
    public async Task Given_a_maintainer_When_they_push_to_refs_only_gitlab_writes_or_ask_for_a_pipeline_on_a_ref_that_is_no_branch_Then_gitlab_refuses_both()
    {
        var w = await World.CreateAsync(host, "gitpush6");
        var id = w.Upstream.Long("id");
        var who = GitRemote.As(w.Maintainer, w.MaintainerName);
        var clone = await GitRemote.Clone(GitRemote.Url(host, w.Upstream), who);
        var head = await GitRemote.Commit(clone, ".gitlab-ci.yml", "test:\n  script: [\"true\"]\n", "A train's head");

        // Gitaly hides these from receive-pack: git itself refuses to update them, whoever pushes.
        foreach (var hidden in new[] { "refs/merge-requests/1/train", "refs/pipelines/1", "refs/environments/1", "refs/keep-around/" + head })
        {
            var pushed = await GitRemote.Run(clone, who, "push", "origin", $"HEAD:{hidden}");
            Assert.NotEqual(0, pushed.ExitCode);
            Assert.Contains("deny updating a hidden ref", pushed.Stderr);
        }
        // An API pipeline runs only on a branch (or a tag, or a merge request ref GitLab made): anything else is no reference.
        var refused = await w.Maintainer.Post($"projects/{id}/pipeline", new { @ref = "refs/merge-requests/1/train" }, HttpStatusCode.BadRequest);
        Assert.Equal("Reference not found", refused["message"]!["base"]![0]!.GetValue<string>());
        Assert.Equal(0, (await GitRemote.Run(clone, who, "push", "-o", "ci.skip", "origin", "HEAD:refs/heads/merge-train/main/1")).ExitCode);
        Assert.Empty((await w.Maintainer.Get($"projects/{id}/pipelines?ref=merge-train/main/1")).AsArray());
        var ours = await w.Maintainer.Post($"projects/{id}/pipeline", new { @ref = "merge-train/main/1" });
        Assert.Equal((head, "merge-train/main/1"), (ours.Str("sha"), ours.Str("ref")));
    }

    private static IReadOnlyList<string> Keys(JsonNode payload) => [.. payload.AsObject().Select(p => p.Key).Order()];
}
