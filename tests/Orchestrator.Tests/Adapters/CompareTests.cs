using System.Net;
using Orchestrator.Adapters;
using Xunit;

namespace Orchestrator.Tests.Adapters;

/// <summary>The changed paths of a comparison, as the bot's client reads GitLab's compare API: a comparison GitLab did not finish says so.</summary>
public sealed class CompareTests
{
    private static GitLabClient Client(string body) =>
        new(new HttpClient(new ScriptedGitLab(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) }))
        {
            BaseAddress = new Uri("http://gitlab.test/api/v4/"),
        });

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task Given_a_compare_answer_When_read_Then_its_paths_come_back_complete_unless_gitlab_timed_out(bool timedOut, bool complete)
    {
        var body = $$"""
            {"diffs":[{"old_path":"a/old.sh","new_path":"a/new.sh"},{"old_path":"b.txt","new_path":"b.txt"}],
             "compare_timeout":{{(timedOut ? "true" : "false")}},"compare_same_ref":false}
            """;

        var changes = await Client(body).ChangedPathsAsync(7, "a1", "b2", CancellationToken.None);

        Assert.Equal(["a/old.sh", "a/new.sh", "b.txt"], changes.Paths);
        Assert.Equal(complete, changes.Complete);
    }
}
