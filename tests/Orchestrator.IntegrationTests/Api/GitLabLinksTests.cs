using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Adapters;
using Orchestrator.Api.Operations;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Api;

/// <summary>The page's names from GitLab: read once per entry while fresh, never waited on for long, tried again after a failure.</summary>
public sealed class GitLabLinksTests
{
    private static readonly MergeRequestKey Mr = new(7, 12);

    /// <summary>A GitLab that answers the two reads the page makes, counting them, and fails or stalls when told to.</summary>
    public class CountingGitLab : DispatchProxy
    {
        public ConcurrentDictionary<string, int> Calls { get; } = new();
        public bool Failing { get; set; }
        public TaskCompletionSource? Stall { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            Calls.AddOrUpdate(method!.Name, 1, (_, n) => n + 1);
            return method.Name switch
            {
                nameof(IGitLabClient.GetProjectAsync) => Answer(() => new GitLabProject(7, "mesa/mesa", WebUrl: "https://gitlab.example/mesa/mesa")),
                nameof(IGitLabClient.GetMergeRequestAsync) => Answer(() => MergeRequest($"title {Calls[method.Name]}")),
                _ => throw new NotSupportedException(method.Name),
            };
        }

        private async Task<T> Answer<T>(Func<T> value)
        {
            if (Stall is { } stall) await stall.Task;
            return Failing ? throw new GitLabException(503, "down", "projects") : value();
        }

        private static GitLabMergeRequest MergeRequest(string title) => new(1, Mr.Iid, Mr.ProjectId, "opened", title, false, "a", "main", 7, 7, null, null,
            false, true, null, null, null, null, null, new GitLabUser(1, "alice", "Alice"), null, null, null, WebUrl: "https://gitlab.example/mesa/mesa/-/merge_requests/12");
    }

    private static (GitLabLinks Links, CountingGitLab GitLab, ShiftedClock Clock) Start()
    {
        var gitlab = DispatchProxy.Create<IGitLabClient, CountingGitLab>();
        // A configured GitLab: with none, the page asks nothing at all.
        var services = new ServiceCollection().AddSingleton(gitlab)
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(new Orchestrator.Hosting.OrchestratorOptions
            {
                GitLab = new Orchestrator.Hosting.GitLabOptions { BaseUrl = "https://gitlab.example" },
            }))
            .BuildServiceProvider();
        var clock = new ShiftedClock();
        return (new GitLabLinks(services, clock, NullLogger<GitLabLinks>.Instance), (CountingGitLab)(object)gitlab, clock);
    }

    [Fact]
    public async Task Given_a_page_polled_again_and_again_When_names_are_asked_Then_gitlab_is_read_once_until_they_are_stale()
    {
        var (links, gitlab, clock) = Start();
        for (var poll = 0; poll < 5; poll++)
        {
            var (projects, mrs) = await links.ForAsync([7], [Mr], CancellationToken.None);
            Assert.Equal(new ProjectLink("mesa/mesa", "https://gitlab.example/mesa/mesa"), projects[7]);
            Assert.Equal("title 1", mrs[Mr].Title);
        }
        Assert.Equal(1, gitlab.Calls[nameof(IGitLabClient.GetMergeRequestAsync)]);
        Assert.Equal(1, gitlab.Calls[nameof(IGitLabClient.GetProjectAsync)]);

        // A renamed MR shows under its new title once the entry is stale.
        clock.Advance(GitLabLinks.Fresh);
        await links.ForAsync([7], [Mr], CancellationToken.None);
        var (_, renamed) = await links.ForAsync([7], [Mr], CancellationToken.None);
        Assert.Equal("title 2", renamed[Mr].Title);
    }

    [Fact]
    public async Task Given_gitlab_failing_When_names_are_asked_Then_none_is_shown_and_gitlab_is_asked_again_only_after_a_while()
    {
        var (links, gitlab, clock) = Start();
        gitlab.Failing = true;
        var (projects, mrs) = await links.ForAsync([7], [Mr], CancellationToken.None);
        Assert.Empty(projects);
        Assert.Empty(mrs);
        gitlab.Failing = false;
        Assert.Empty((await links.ForAsync([7], [Mr], CancellationToken.None)).MergeRequests);
        Assert.Equal(1, gitlab.Calls[nameof(IGitLabClient.GetMergeRequestAsync)]);

        clock.Advance(GitLabLinks.RetryAfter);
        await links.ForAsync([7], [Mr], CancellationToken.None);
        Assert.Equal("title 2", (await links.ForAsync([7], [Mr], CancellationToken.None)).MergeRequests[Mr].Title);
    }

    [Fact]
    public async Task Given_gitlab_slow_When_names_are_asked_Then_the_page_waits_its_budget_at_most_and_gets_them_at_a_later_poll()
    {
        var (links, gitlab, _) = Start();
        gitlab.Stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = DateTime.UtcNow;
        var (_, first) = await links.ForAsync([7], [Mr], CancellationToken.None);
        Assert.Empty(first);
        Assert.True(DateTime.UtcNow - started < GitLabLinks.Budget * 3, $"waited {DateTime.UtcNow - started}");

        gitlab.Stall.SetResult();
        await Eventually.True(async () => (await links.ForAsync([7], [Mr], CancellationToken.None)).MergeRequests.ContainsKey(Mr), "the title read in the background");
        Assert.Equal(1, gitlab.Calls[nameof(IGitLabClient.GetMergeRequestAsync)]);
    }
}
