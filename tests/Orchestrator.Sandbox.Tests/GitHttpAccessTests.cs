using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>
/// Who may clone and who may push over smart HTTP, with the real git client, in GitLab's answers: 401 with a
/// Basic challenge without valid credentials, 404 for a project one cannot see, 403 for what one may not do.
/// </summary>
public sealed class GitHttpAccessTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const int Guest = 10, Reporter = 20;
    private const string NotFound = "The project you were looking for could not be found or you don't have permission to view it.";

    private static async Task<JsonNode> PrivateProject(World w) =>
        await w.Maintainer.Post("projects", new { name = $"secret-{w.Tag}", initialize_with_readme = true, visibility = "private" });

    [Fact]
    public async Task Given_a_private_project_When_cloned_without_a_token_or_with_a_wrong_one_Then_401_with_a_Basic_challenge_and_git_is_refused()
    {
        var w = await World.CreateAsync(host, "githttp1");
        var url = GitRemote.Url(host, await PrivateProject(w));
        using var http = new HttpClient();
        using var wrongToken = new HttpRequestMessage(HttpMethod.Get, url + "/info/refs?service=git-upload-pack");
        wrongToken.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{w.MaintainerName}:glpat-not-a-token")));

        using var anonymous = await http.GetAsync(url + "/info/refs?service=git-upload-pack");
        using var wrong = await http.SendAsync(wrongToken);
        using var unknown = await http.GetAsync(new Uri(host.BaseUrl, $"nobody-{w.Tag}/nothing.git/info/refs?service=git-upload-pack"));
        var cloneWithout = await GitRemote.Run(null, null, "clone", "-q", url, Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}"));
        var cloneWrong = await GitRemote.Run(null, new GitLogin(w.MaintainerName, "glpat-not-a-token"), "clone", "-q", url,
            Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}"));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic realm=\"GitLab\"", anonymous.Headers.WwwAuthenticate.ToString());
        Assert.StartsWith("HTTP Basic: Access denied.", await anonymous.Content.ReadAsStringAsync());
        Assert.Equal((HttpStatusCode.Unauthorized, "Basic realm=\"GitLab\""), (wrong.StatusCode, wrong.Headers.WwwAuthenticate.ToString()));
        // The same answer for a project that does not exist: a 401 tells nothing about what is there.
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        // git, challenged, asks for a username it cannot prompt for.
        Assert.Contains("could not read Username", cloneWithout.Stderr);
        Assert.Contains("could not read Username", cloneWrong.Stderr);
    }

    [Fact]
    public async Task Given_a_private_project_When_a_non_member_a_guest_and_a_reporter_clone_Then_not_found_forbidden_and_a_clone()
    {
        var w = await World.CreateAsync(host, "githttp2");
        var project = await PrivateProject(w);
        var url = GitRemote.Url(host, project);
        var (guest, guestUser) = await NewMember(w, project, "guest", Guest);
        var (reporter, _) = await NewMember(w, project, "reporter", Reporter);

        var stranger = await GitRemote.Run(null, GitRemote.As(w.Stranger, $"stranger-{w.Tag}"), "clone", "-q", url, Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}"));
        var guestClone = await GitRemote.Run(null, GitRemote.As(guest, guestUser.Str("username")), "clone", "-q", url, Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}"));
        // GitLab ignores the login that comes with a personal access token: oauth2:<token> is the usual form.
        var clone = await GitRemote.Clone(url, GitRemote.As(reporter, "oauth2"));

        Assert.Contains($"remote: {NotFound}", stranger.Stderr);
        Assert.Contains("not found", stranger.Stderr);
        Assert.Contains("remote: You are not allowed to download code from this project.", guestClone.Stderr);
        Assert.True(File.Exists(Path.Combine(clone, "README.md")));
    }

    [Fact]
    public async Task Given_a_public_project_When_cloned_anonymously_Then_it_clones_and_an_anonymous_or_reporter_push_is_refused()
    {
        var w = await World.CreateAsync(host, "githttp3");
        var url = GitRemote.Url(host, w.Upstream);
        var (reporter, reporterUser) = await w.Member("reporter", Reporter);
        var clone = await GitRemote.Clone(url, null);
        await GitRemote.Commit(clone, "anon.txt", "anon\n", "Anonymous change");

        var anonymousPush = await GitRemote.Run(clone, null, "push", "origin", "HEAD:refs/heads/anon");
        var reporterPush = await GitRemote.Run(clone, GitRemote.As(reporter, reporterUser.Str("username")), "push", "origin", "HEAD:refs/heads/anon");

        Assert.NotEqual(0, anonymousPush.ExitCode);
        Assert.Contains("remote: You are not allowed to push code to this project.", reporterPush.Stderr);
        await w.Maintainer.Get($"projects/{w.Upstream.Long("id")}/repository/branches/anon", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_a_job_token_When_the_job_clones_its_private_project_and_pushes_Then_the_clone_works_and_the_push_is_refused()
    {
        var w = await World.CreateAsync(host, "githttp4");
        var project = await PrivateProject(w);
        var id = project.Long("id");
        var script = "git clone -q \"$CI_REPOSITORY_URL\" self && cd self && echo cloned=$(git rev-parse HEAD)\n"
            + "git -c user.name=job -c user.email=job@example.com commit -q --allow-empty -m job\n"
            + "git push -q origin HEAD:refs/heads/from-job 2>&1 || echo push-refused\n";
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "CI", ".gitlab-ci.yml",
            $"clone:\n  script:\n    - |\n{string.Join("", script.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => $"      {l}\n"))}"));

        var pipeline = await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"));
        Assert.Equal("success", (await w.Maintainer.WaitForPipeline(id, pipeline.Long("id"))).Str("status"));
        var job = (await w.Maintainer.Get($"projects/{id}/pipelines/{pipeline.Long("id")}/jobs")).AsArray().Single()!;
        var log = await w.Maintainer.Trace(id, job.Long("id"));

        Assert.Contains($"cloned={commit.Str("id")}", log);
        // A job token pushes only where a project allows it, which GitLab does not by default.
        Assert.Contains("remote: You are not allowed to upload code.", log);
        Assert.Contains("push-refused", log);
        await w.Maintainer.Get($"projects/{id}/repository/branches/from-job", HttpStatusCode.NotFound);
    }

    private async Task<(HttpClient Client, JsonNode User)> NewMember(World w, JsonNode project, string name, int level)
    {
        var username = $"{name}-{w.Tag}";
        var user = await w.Admin.Post("users", new { email = $"{username}@example.com", username, name = username, password = "s3cret-password" });
        var token = await w.Admin.Post($"users/{user.Long("id")}/personal_access_tokens", new { name = "git", scopes = new[] { "read_repository" } });
        await w.Maintainer.Post($"projects/{project.Long("id")}/members", new { user_id = user.Long("id"), access_level = level });
        return (host.Client(token.Str("token")), user);
    }
}
