using System.Diagnostics;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Faults;

public sealed partial class SiloKillTests
{
    /// <summary>
    /// Default settings (a one-minute reminder, the 10 s poll, no reconciliation to wake it by another road): the
    /// process is killed right after the workflow registered its reminder, so the reminder cannot fire for most of a
    /// minute; the new process must still call GitLab about the workflow within seconds of starting.
    /// </summary>
    [Fact]
    public async Task Given_an_active_workflow_and_default_settings_When_the_silo_is_killed_and_started_again_Then_it_resumes_calling_GitLab_within_seconds()
    {
        var defaults = new Hosting.WorkflowSettings();
        var settings = new Dictionary<string, string>
        {
            ["Orchestrator__Workflow__ReminderPeriod"] = defaults.ReminderPeriod.ToString(),
            ["Orchestrator__Workflow__PollInterval"] = defaults.PollInterval.ToString(),
        };
        await using var run = await BeginAsync("resume");
        var harness = run.Harness;
        var first = run.Start(settings: settings);
        // Started before the request, so it overstates the time since the reminder was registered.
        var requested = Stopwatch.StartNew();
        var key = await RequestMergeAsync(first, harness, "waits", "sleep 60\ntrue\n");
        await Eventually.True(async () => (await run.Journal.ReadAsync(key)).Events.OfType<PipelineCreated>().Any(), "the build to start");
        await first.KillAsync();
        // Any call about the project but the merge request list (reconciliation's, off here anyway) is the workflow's.
        await harness.Faults(new { routes = new[] { new { method = "*", path = $"^/api/v4/projects/{harness.Upstream}/(?!merge_requests$)", delay_ms = 0, count = 1 } } });

        var started = Stopwatch.StartNew();
        run.Start(settings: settings);
        await Eventually.True(async () => await harness.ArmedRoutes() == 0, "the restarted silo to call GitLab for the active workflow", TimeSpan.FromSeconds(20));

        output.WriteLine($"process start → first GitLab call of the active workflow: {started.Elapsed.TotalSeconds:F1} s");
        // Its reminder was registered after the request, so it cannot have fired yet: the wake-up at start made the call.
        Assert.True(requested.Elapsed < defaults.ReminderPeriod, $"a reminder period passed since the request ({requested.Elapsed}): this run proves nothing");
    }
}
