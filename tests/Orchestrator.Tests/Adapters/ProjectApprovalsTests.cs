using System.Net;
using Orchestrator.Adapters;
using Xunit;

namespace Orchestrator.Tests.Adapters;

/// <summary>Whether a push removes approvals, as the bot's client reads it: only a GitLab without the API (Free) says "no" by its 404.</summary>
public sealed class ProjectApprovalsTests
{
    private static GitLabClient Client(HttpStatusCode status, string body) =>
        new(new HttpClient(new ScriptedGitLab(_ => new HttpResponseMessage(status) { Content = new StringContent(body) }))
        {
            BaseAddress = new Uri("http://gitlab.test/api/v4/"),
        });

    [Fact]
    public async Task Given_a_GitLab_without_the_approvals_API_When_asked_Then_nothing_removes_approvals_on_push() =>
        Assert.False((await Client(HttpStatusCode.NotFound, """{"error":"404 Not Found"}""").GetProjectApprovalsAsync(42, CancellationToken.None)).ResetApprovalsOnPush);

    [Fact]
    public async Task Given_a_project_the_bot_cannot_see_When_asked_Then_it_is_an_error_not_a_no()
    {
        // Read as "no", the bot would push its trailers and lose approvals it was never told about: fail closed.
        var e = await Assert.ThrowsAsync<GitLabException>(() =>
            Client(HttpStatusCode.NotFound, """{"message":"404 Project Not Found"}""").GetProjectApprovalsAsync(42, CancellationToken.None));
        Assert.Equal(404, e.Status);
    }

    [Fact]
    public async Task Given_a_project_that_resets_approvals_When_asked_Then_it_says_so() =>
        Assert.True((await Client(HttpStatusCode.OK, """{"reset_approvals_on_push":true}""").GetProjectApprovalsAsync(42, CancellationToken.None)).ResetApprovalsOnPush);
}
