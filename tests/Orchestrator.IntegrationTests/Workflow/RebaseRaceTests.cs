using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// GitLab's rebase API takes no expected head: a push that lands between our last look and GitLab's rebase is rebased
/// with the rest. The merge request's diff versions show it, and the attempt ends before anything runs on it.
/// </summary>
public sealed class RebaseRaceTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_the_author_pushes_while_our_rebase_request_is_on_its_way_When_gitlab_rebases_the_late_head_Then_the_attempt_ends_as_someone_pushed()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "rbrace");
        var iid = await h.OpenMrAsync("raced", "Raced", new FileChange("create", "raced.txt", "1\n"));
        await h.CommitAsync(h.As("maintainer"), h.Upstream, "main", "main moves on", [new FileChange("create", "main.txt", "m\n")]);
        // Our rebase request reaches GitLab and waits there until bob has pushed: the race, staged in order.
        await h.Faults(new { routes = new[] { new { method = "PUT", path = @"merge_requests/\d+/rebase$", held = true, count = 1 } } });
        try
        {
            await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
            await Eventually.True(async () => await h.ArmedRoutes() == 0, "our rebase request to reach GitLab");
            var late = await h.CommitAsync(h.As("bob"), h.Upstream, "raced", "bob's late change", [new FileChange("create", "late.txt", "late\n")]);
            await h.ReleaseHeldCalls();

            var s = await h.WaitForOutcome(iid, 1);

            Assert.Equal(WorkflowState.Failed, s.State);
            Assert.StartsWith(WorkflowDecider.SomeonePushed, s.Outcome);
            Assert.Contains($"GitLab rebased {late} to ", s.Outcome);
            var types = await h.EventTypes(iid);
            Assert.Contains("rebase_stopped", types);
            Assert.DoesNotContain(types, t => t is "rebased" or "pipeline_created" or "merged");
            Assert.True((await h.Grain(iid).Replay()).Consistent);
        }
        finally
        {
            await h.Faults(new { });
        }
    }
}
