using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>
/// Approving as someone else, as GitLab allows it (lib/api/helpers.rb <c>sudo!</c>, lib/api/merge_request_approvals.rb):
/// the <c>Sudo</c> header works only for an administrator's token with the <c>sudo</c> scope, the approval checks the
/// head's SHA and who may approve, and a push removes the approvals where the project says so (GitLab's rebase does not).
/// </summary>
public sealed class ApprovalImpersonationTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private sealed record Setup(World W, long Project, long Iid, string Path, string Head, JsonNode Developer, HttpClient DeveloperClient);

    private static async Task<Setup> OpenAsync(SandboxHost host, string tag)
    {
        var w = await World.CreateAsync(host, tag);
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "topic", "f.txt", "f\n", startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "Topic" });
        var (client, developer) = await w.Member("dev", 30);
        return new(w, id, mr.Long("iid"), $"projects/{id}/merge_requests/{mr.Long("iid")}", mr.Str("sha"), developer, client);
    }

    private static async Task<List<string>> ApprovedBy(Setup s) =>
        [.. (await s.W.Maintainer.Get($"{s.Path}/approvals"))["approved_by"]!.AsArray().Select(a => a!["user"]!.Str("username"))];

    private static async Task<JsonNode> SendAs(HttpClient client, string path, string sudo, object? body, HttpStatusCode expect)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : System.Net.Http.Json.JsonContent.Create(body) };
        request.Headers.Add("Sudo", sudo);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expect == response.StatusCode, $"{expect} expected, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task Given_an_admin_token_with_sudo_When_it_approves_as_a_developer_Then_the_approval_is_the_developers()
    {
        var s = await OpenAsync(host, "sudo1");

        await SendAs(s.W.Admin, $"{s.Path}/approve", s.Developer.Long("id").ToString(), new { sha = s.Head }, HttpStatusCode.Created);

        Assert.Equal([s.Developer.Str("username")], await ApprovedBy(s));
        // Who GitLab says is calling, under sudo: the developer, by username too.
        Assert.Equal(s.Developer.Str("username"), (await SendAsGet(s.W.Admin, "user", s.Developer.Str("username"))).Str("username"));
    }

    private static async Task<JsonNode> SendAsGet(HttpClient client, string path, string sudo)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Sudo", sudo);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    [Fact]
    public async Task Given_sudo_When_the_token_is_not_an_admins_or_lacks_the_sudo_scope_or_names_no_one_Then_gitlabs_refusals()
    {
        var s = await OpenAsync(host, "sudo2");
        var devId = s.Developer.Long("id").ToString();

        var notAdmin = await SendAs(s.W.Maintainer, $"{s.Path}/approve", devId, null, HttpStatusCode.Forbidden);
        Assert.Equal("403 Forbidden - Must be admin to use sudo", notAdmin.Str("message"));

        var rootId = (await s.W.Admin.Get("user")).Long("id");
        var apiOnly = await s.W.Admin.Post($"users/{rootId}/personal_access_tokens", new { name = "api-only", scopes = new[] { "api" } });
        var scoped = await SendAs(host.Client(apiOnly.Str("token")), $"{s.Path}/approve", devId, null, HttpStatusCode.Forbidden);
        Assert.Equal(("insufficient_scope", "sudo"), (scoped.Str("error"), scoped.Str("scope")));

        var nobody = await SendAs(s.W.Admin, $"{s.Path}/approve", "no-such-user", null, HttpStatusCode.NotFound);
        Assert.Equal("404 User with ID or username 'no-such-user' Not Found", nobody.Str("message"));
        Assert.Empty(await ApprovedBy(s));
    }

    [Fact]
    public async Task Given_an_approval_When_the_sha_is_not_the_head_or_it_is_a_repeat_or_the_user_may_not_approve_Then_409_401_403()
    {
        var s = await OpenAsync(host, "sudo3");
        var devId = s.Developer.Long("id").ToString();

        var stale = await SendAs(s.W.Admin, $"{s.Path}/approve", devId, new { sha = new string('0', 40) }, HttpStatusCode.Conflict);
        Assert.Equal($"SHA does not match HEAD of source branch: {s.Head}", stale.Str("message"));
        await SendAs(s.W.Admin, $"{s.Path}/approve", devId, new { sha = s.Head }, HttpStatusCode.Created);
        Assert.Equal("401 Unauthorized", (await SendAs(s.W.Admin, $"{s.Path}/approve", devId, new { sha = s.Head }, HttpStatusCode.Unauthorized)).Str("message"));
        var (_, reporter) = await s.W.Member("rep", 20);
        await SendAs(s.W.Admin, $"{s.Path}/approve", reporter.Long("id").ToString(), null, HttpStatusCode.Forbidden);
        await s.W.Maintainer.Post($"{s.Path}/approve", expect: HttpStatusCode.Unauthorized);

        Assert.Equal([s.Developer.Str("username")], await ApprovedBy(s));
    }

    [Fact]
    public async Task Given_a_project_that_removes_approvals_on_push_When_commits_are_pushed_Then_they_go_but_gitlabs_own_rebase_keeps_them()
    {
        var s = await OpenAsync(host, "sudo4");
        await s.W.Maintainer.Post($"projects/{s.Project}/approvals", new { reset_approvals_on_push = true });
        await s.DeveloperClient.Post($"{s.Path}/approve");

        await s.W.Maintainer.Post($"projects/{s.Project}/repository/commits", World.Commit("main", "main moves", "m.txt", "m\n"));
        await s.W.Maintainer.Put($"{s.Path}/rebase", expect: HttpStatusCode.Accepted);
        await s.W.Maintainer.WaitFor($"{s.Path}?include_rebase_in_progress=true", m => !m["rebase_in_progress"]!.GetValue<bool>(), TimeSpan.FromSeconds(10));
        Assert.NotEqual(s.Head, (await s.W.Maintainer.Get(s.Path)).Str("sha"));
        Assert.Equal([s.Developer.Str("username")], await ApprovedBy(s));

        await s.W.Maintainer.Post($"projects/{s.Project}/repository/commits", World.Commit("topic", "one more", "g.txt", "g\n"));
        Assert.Empty(await ApprovedBy(s));
    }
}
