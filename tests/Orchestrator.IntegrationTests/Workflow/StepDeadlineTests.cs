using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>A step that makes no progress ends at the policy's deadline, on a clock moved forward rather than waited for.</summary>
public sealed class StepDeadlineTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private const int Refusals = 100_000;

    [Fact]
    public async Task Given_a_gitlab_that_keeps_failing_a_step_When_the_step_deadline_passes_Then_the_attempt_ends_with_the_last_error_and_frees_the_branch()
    {
        var clock = new ShiftedClock();
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "ddl", clock: clock);
        // The comparison the freshness check starts with answers 503 for as long as the test runs: retries never heal it.
        await h.Faults(new { routes = new[] { new { method = "GET", path = "^/api/v4/projects/\\d+/repository/compare", status = 503, count = Refusals } } });
        try
        {
            var watch = await Aftermath.Watch(h, h.MrA);
            await h.Grain(h.MrA).Enqueue(Requester.ApiToken("marge-bot"));
            await h.WaitForState(h.MrA, s => s.State == WorkflowState.Checking);
            // Held within its deadline: still checking after failed calls GitLab counted (each one spends the route once),
            // more than one poll's retries make.
            await Eventually.True(async () => await h.ArmedRoutes() <= Refusals - 4, "several failed comparisons");
            Assert.Equal(WorkflowState.Checking, (await h.Grain(h.MrA).GetSnapshot()).Workflow.State);

            clock.Advance(TimeSpan.FromMinutes(31));
            var s = await h.WaitForOutcome(h.MrA, 1);

            Assert.Equal(WorkflowState.Failed, s.State);
            Assert.Contains("step_timed_out", await h.EventTypes(h.MrA));
            (await watch.Outcome())
                .Says("the checking step made no progress for 30 minutes (last: GitLab answered 503")
                .AssignedTo("alice")
                .WithNewPipelines()
                .MainUnchanged()
                .Within(TimeSpan.FromSeconds(90));
            Assert.True((await h.Grain(h.MrA).Replay()).Consistent);

            // The branch is free: the next merge request gets it at once.
            await h.Faults(new { });
            var next = await h.OpenMrAsync("after-deadline", "After", new WorkflowHarnessExtensions.FileChange("create", "after.txt", "after\n"));
            await h.Grain(next).Enqueue(Requester.ApiToken("marge-bot"));
            await h.WaitForState(next, n => n.State > WorkflowState.Queued);
        }
        finally
        {
            await h.Faults(new { });
        }
    }
}
