using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>Trailers written by our own git before our pipeline runs: the commit that is tested is the commit that lands.</summary>
public sealed class TrailerWorkflowTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_a_fast_forward_project_with_trailers_When_an_approved_mr_merges_Then_main_is_the_tested_commit_with_each_trailer_once()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "trail");
        var maintainer = h.As("maintainer");
        (await maintainer.PutAsJsonAsync($"projects/{h.Upstream}", new { merge_method = "ff" })).EnsureSuccessStatusCode();
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with { Trailers = ["part-of", "reviewed-by", "tested-by"] });
        var iid = await h.OpenMrAsync("with-trailers", "Docs with trailers", new FileChange("update", "README.md", "# mesa\ntrailers\n"));
        // main moves on, so the MR really is rebased by our git.
        await h.CommitAsync(maintainer, h.Upstream, "main", "someone else's change", [new FileChange("create", "other.txt", "o\n")]);
        (await maintainer.PostAsync($"projects/{h.Upstream}/merge_requests/{iid}/approve", null)).EnsureSuccessStatusCode();
        var webUrl = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["web_url"]!.GetValue<string>();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        var main = await h.MainHead();
        var tested = (await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{s.PipelineId}"))["sha"]!.GetValue<string>();
        Assert.Equal((s.RebasedSha, s.RebasedSha), (main, tested));
        var message = (await h.Get(maintainer, $"projects/{h.Upstream}/repository/commits/{main}"))["message"]!.GetValue<string>();
        Assert.Single(Regex.Matches(message, $"^Part-of: <{Regex.Escape(webUrl)}>$", RegexOptions.Multiline));
        Assert.Single(Regex.Matches(message, "^Tested-by: .+ <" + Regex.Escape(webUrl) + ">$", RegexOptions.Multiline));
        Assert.Single(Regex.Matches(message, "^Reviewed-by: .+ <.+@.+>$", RegexOptions.Multiline));
        Assert.Contains("rewrite_planned", await h.EventTypes(iid));
        // Our push carried ci.skip: on the MR's branch the only pipeline at the rewritten commit is ours (main's own follows the merge).
        var onIt = (await h.Get(maintainer, $"projects/{h.Upstream}/pipelines?ref=with-trailers&sha={main}")).AsArray();
        Assert.Equal(s.PipelineId, Assert.Single(onIt)!["id"]!.GetValue<long>());
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }
}

/// <summary>A project that makes merge commits: the tested commit lands as the merge's second parent, and the merge commit carries the trailers too.</summary>
public sealed class MergeCommitTrailerTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_a_merge_commit_project_with_trailers_When_an_mr_merges_Then_both_the_tested_commit_and_the_merge_commit_carry_each_trailer_once()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "trailmc");
        var maintainer = h.As("maintainer");
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with { Trailers = ["part-of", "tested-by"] });
        var iid = await h.OpenMrAsync("mc-trailers", "Merge-commit trailers", new FileChange("update", "README.md", "# mesa\nmerge commit\n"));
        var webUrl = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["web_url"]!.GetValue<string>();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Completed, s.State);
        var merge = await h.Get(maintainer, $"projects/{h.Upstream}/repository/commits/{await h.MainHead()}");
        Assert.Equal(s.RebasedSha, merge["parent_ids"]!.AsArray()[1]!.GetValue<string>());
        foreach (var sha in new[] { merge["id"]!.GetValue<string>(), s.RebasedSha! })
        {
            var message = (await h.Get(maintainer, $"projects/{h.Upstream}/repository/commits/{sha}"))["message"]!.GetValue<string>();
            Assert.Single(Regex.Matches(message, $"^Part-of: <{Regex.Escape(webUrl)}>$", RegexOptions.Multiline));
            Assert.Single(Regex.Matches(message, "^Tested-by: .+ <" + Regex.Escape(webUrl) + ">$", RegexOptions.Multiline));
        }
    }
}

/// <summary>Our git's push carries a lease on the head it rewrote: an author's push in between is never overwritten.</summary>
public sealed class RewriteLeaseTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_the_author_pushes_while_our_rewrite_is_on_its_way_When_our_push_arrives_Then_the_lease_refuses_it_and_the_authors_commit_stays()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "lease");
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with { Trailers = ["part-of"] });
        var iid = await h.OpenMrAsync("leased", "Leased", new FileChange("create", "leased.txt", "1\n"));
        await h.CommitAsync(h.As("maintainer"), h.Upstream, "main", "main moves on", [new FileChange("create", "main.txt", "m\n")]);
        // Our push reaches GitLab and waits there; meanwhile bob pushes to his branch.
        await h.Faults(new { routes = new[] { new { method = "POST", path = "git-receive-pack$", delay_ms = 3000, count = 1 } } });
        try
        {
            await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
            using var admin = new HttpClient { BaseAddress = new Uri(h.Sandbox.BaseUrl) };
            admin.DefaultRequestHeaders.Add("PRIVATE-TOKEN", SandboxFixture.AdminToken);
            await Eventually.True(async () => (await admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonNode>("/-/sandbox/faults"))!["armed_routes"]!.GetValue<int>() == 0,
                "our push to reach GitLab");
            var bobs = await h.CommitAsync(h.As("bob"), h.Upstream, "leased", "bob's late change", [new FileChange("create", "late.txt", "late\n")]);

            var s = await h.WaitForOutcome(iid, 1);

            Assert.Equal(WorkflowState.Failed, s.State);
            Assert.Equal("Someone pushed to branch while we were trying to merge", s.Outcome);
            Assert.Equal(bobs, (await h.Get(h.As("bob"), $"projects/{h.Upstream}/repository/branches/leased"))["commit"]!["id"]!.GetValue<string>());
            Assert.Contains("rewrite_failed", await h.EventTypes(iid));
        }
        finally
        {
            await h.Faults(new { });
        }
    }
}
