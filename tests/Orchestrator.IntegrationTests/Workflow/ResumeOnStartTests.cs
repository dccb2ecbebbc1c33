using System.Diagnostics;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orchestrator.Hosting;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Xunit;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>The wake-up at start when PostgreSQL does not answer: it gives up, says so, and never takes the silo down.</summary>
public sealed class ResumeOnStartTests
{
    private sealed class Warnings : ILogger<ResumeOnStart>
    {
        public List<string> Seen { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel level) => true;
        public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format)
        {
            if (level >= LogLevel.Warning) lock (Seen) Seen.Add(format(state, e));
        }
    }

    [Fact]
    public async Task Given_no_postgresql_When_the_wake_up_at_start_runs_Then_it_retries_then_gives_up_with_a_warning_and_wakes_nothing()
    {
        // Nothing listens there: every read of the index is refused at once, so only the retries take time.
        await using var nowhere = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={Ports.Free()};Username=none;Password=none;Database=none;Timeout=2");
        await using var store = DocumentStore.For(o => MartenSetup.Configure(o, nowhere, "nowhere"));
        var options = Options.Create(new OrchestratorOptions { GitLab = { BaseUrl = "http://gitlab.invalid" } });
        var log = new Warnings();
        // No grain is ever reached: the index was never read.
        var resume = new ResumeOnStart(new MergeRequestIndex(store), null!, options, log);
        var clock = Stopwatch.StartNew();

        var woken = await resume.WakeAllAsync(CancellationToken.None);

        Assert.Equal(0, woken);
        Assert.Contains(log.Seen, w => w.Contains("resume at their reminder"));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(14), $"gave up after {clock.Elapsed}: without retrying");
    }
}
