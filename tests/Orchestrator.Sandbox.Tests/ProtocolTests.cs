using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Authentication, parameter sources, pagination and GitLab's error answers.</summary>
public sealed class ProtocolTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    [Theory]
    [InlineData(null)]
    [InlineData("glpat-wrong")]
    public async Task Given_no_or_a_wrong_token_When_calling_Then_401_with_gitlabs_body(string? token)
    {
        var body = await host.Client(token).Get("user", HttpStatusCode.Unauthorized);
        Assert.Equal("401 Unauthorized", body.Str("message"));
    }

    [Fact]
    public async Task Given_a_bearer_token_When_calling_Then_it_authenticates_like_private_token()
    {
        var client = host.Client(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SandboxHost.AdminToken);
        Assert.Equal("root", (await client.Get("user")).Str("username"));
    }

    [Fact]
    public async Task Given_bad_requests_When_sent_Then_gitlabs_status_codes_and_bodies_never_a_500()
    {
        var w = await World.CreateAsync(host, "errors1");
        var id = w.Upstream.Long("id");
        Assert.Equal("404 Project Not Found", (await w.Maintainer.Get("projects/999999", HttpStatusCode.NotFound)).Str("message"));
        Assert.Equal("404 Not Found", (await w.Maintainer.Get("no/such/route", HttpStatusCode.NotFound)).Str("error"));
        Assert.Equal("title is missing",
            (await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "a", target_branch = "main" }, HttpStatusCode.BadRequest)).Str("error"));
        Assert.Equal("403 Forbidden", (await w.Maintainer.Post("users", new { email = "x@example.com", username = "x", name = "x" }, HttpStatusCode.Forbidden)).Str("message"));
        Assert.Equal("404 Merge Request Not Found", (await w.Maintainer.Get($"projects/{id}/merge_requests/77", HttpStatusCode.NotFound)).Str("message"));
        Assert.Equal("404 Branch Not Found", (await w.Maintainer.Get($"projects/{id}/repository/branches/nope", HttpStatusCode.NotFound)).Str("message"));
        Assert.Equal("404 File Not Found", (await w.Maintainer.Get($"projects/{id}/repository/files/nope.txt/raw?ref=main", HttpStatusCode.NotFound)).Str("message"));
        Assert.Equal("Provide at least 2 refs", (await w.Maintainer.Get($"projects/{id}/repository/merge_base?refs[]=main", HttpStatusCode.BadRequest)).Str("message"));
        Assert.Equal("A file with this name already exists", (await w.Maintainer.Post($"projects/{id}/repository/commits",
            World.Commit("main", "dup", "README.md", "again"), HttpStatusCode.BadRequest)).Str("message"));

        var mrs = $"projects/{id}/merge_requests";
        Assert.Equal("You can't use same project/branch for source and target", (await w.Maintainer.Post(mrs,
            new { source_branch = "main", target_branch = "main", title = "x" }, HttpStatusCode.UnprocessableEntity))["message"]![0]!.GetValue<string>());
        Assert.Equal("Source branch \"ghost\" does not exist", (await w.Maintainer.Post(mrs,
            new { source_branch = "ghost", target_branch = "main", title = "x" }, HttpStatusCode.Conflict))["message"]![0]!.GetValue<string>());
        var other = await w.Stranger.Post("projects", new { name = "unrelated-errors1" });
        await w.Stranger.Post($"projects/{other.Long("id")}/repository/commits", World.Commit("main", "init", "a.txt", "a"));
        await w.Stranger.Post($"projects/{other.Long("id")}/merge_requests",
            new { source_branch = "main", target_branch = "main", title = "x", target_project_id = id }, HttpStatusCode.UnprocessableEntity);

        using var malformed = new HttpRequestMessage(HttpMethod.Post, $"projects/{id}/merge_requests")
        {
            Content = new StringContent("{\"title\": ", Encoding.UTF8, "application/json"),
        };
        var response = await w.Maintainer.SendAsync(malformed);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        // A private project is invisible to non-members: 404, not 403, as GitLab hides its existence.
        var secret = await w.Maintainer.Post("projects", new { name = "secret-errors1" });
        Assert.Equal("404 Project Not Found", (await w.Stranger.Get($"projects/{secret.Long("id")}", HttpStatusCode.NotFound)).Str("message"));
        Assert.Equal("404 Project Not Found", (await w.Stranger.Get($"projects/{Uri.EscapeDataString(secret.Str("path_with_namespace"))}", HttpStatusCode.NotFound)).Str("message"));
    }

    [Fact]
    public async Task Given_parameters_in_query_form_or_json_When_sent_Then_gitlab_reads_them_alike()
    {
        var w = await World.CreateAsync(host, "params1");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/repository/branches?branch=by-query&ref=main");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["branch"] = "by-form", ["ref"] = "main" });
        Assert.Equal(HttpStatusCode.Created, (await w.Maintainer.PostAsync($"projects/{id}/repository/branches", form)).StatusCode);
        await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch = "by-json", @ref = "main" });

        var names = (await w.Maintainer.Get($"projects/{id}/repository/branches")).AsArray().Select(b => b!.Str("name"));
        Assert.Equal(["by-form", "by-json", "by-query", "main"], names);
        var byPath = await w.Maintainer.Get($"projects/{Uri.EscapeDataString(w.Upstream.Str("path_with_namespace"))}");
        Assert.Equal(id, byPath.Long("id"));
    }

    [Fact]
    public async Task Given_more_items_than_a_page_When_listed_Then_gitlabs_pagination_headers_lead_through_them()
    {
        var w = await World.CreateAsync(host, "paging1");
        var id = w.Upstream.Long("id");
        for (var i = 0; i < 5; i++) await w.Maintainer.Post($"projects/{id}/repository/branches", new { branch = $"b{i}", @ref = "main" });

        using var response = await w.Maintainer.GetAsync($"projects/{id}/repository/branches?per_page=2&page=2");
        var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();

        Assert.Equal(["b2", "b3"], page.Select(b => b!.Str("name")));
        Assert.Equal("6", response.Headers.GetValues("x-total").Single());
        Assert.Equal("3", response.Headers.GetValues("x-total-pages").Single());
        Assert.Equal("3", response.Headers.GetValues("x-next-page").Single());
        Assert.Equal("1", response.Headers.GetValues("x-prev-page").Single());
        var link = response.Headers.GetValues("Link").Single();
        Assert.Contains("page=3&per_page=2>; rel=\"next\"", link);
        Assert.Contains("page=1&per_page=2>; rel=\"prev\"", link);
    }

    [Fact]
    public async Task Given_a_developer_When_pushing_to_a_protected_branch_Then_403_while_maintainers_may()
    {
        var w = await World.CreateAsync(host, "perm1");
        var id = w.Upstream.Long("id");
        var contributor = await w.Contributor.Get("user");
        await w.Maintainer.Post($"projects/{id}/members", new { user_id = contributor.Long("id"), access_level = 30 });

        await w.Contributor.Post($"projects/{id}/repository/commits", World.Commit("main", "direct", "d.txt", "d"), HttpStatusCode.Forbidden);
        await w.Contributor.Post($"projects/{id}/repository/commits", World.Commit("feature", "ok", "d.txt", "d", startBranch: "main"));
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "maint", "m.txt", "m"));
        Assert.Equal("Member already exists",
            (await w.Maintainer.Post($"projects/{id}/members", new { user_id = contributor.Long("id"), access_level = 30 }, HttpStatusCode.Conflict)).Str("message"));
    }
}
