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
        // Our push reaches GitLab and is held there until bob has pushed to his branch: the race, staged in order.
        await h.Faults(new { routes = new[] { new { method = "POST", path = "git-receive-pack$", held = true, count = 1 } } });
        try
        {
            await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
            await Eventually.True(async () => await h.ArmedRoutes() == 0,
                "our push to reach GitLab");
            var bobs = await h.CommitAsync(h.As("bob"), h.Upstream, "leased", "bob's late change", [new FileChange("create", "late.txt", "late\n")]);
            await h.ReleaseHeldCalls();

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

/// <summary>A project that removes approvals on push: trailers would cost them, so the bot refuses rather than approve in anyone's name.</summary>
public sealed class ApprovalResetTrailerTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_a_project_that_removes_approvals_on_push_When_an_approved_mr_needs_trailers_Then_it_is_refused_and_nothing_is_pushed()
    {
        await using var h = await WorkflowHarness.StartAsync(db, sandbox, "trailreset");
        var maintainer = h.As("maintainer");
        (await maintainer.PostAsJsonAsync($"projects/{h.Upstream}/approvals", new { reset_approvals_on_push = true })).EnsureSuccessStatusCode();
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with { Trailers = ["reviewed-by"] });
        var iid = await h.OpenMrAsync("approved", "Approved", new FileChange("create", "approved.txt", "a\n"));
        var head = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>();
        (await maintainer.PostAsync($"projects/{h.Upstream}/merge_requests/{iid}/approve", null)).EnsureSuccessStatusCode();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        Assert.Contains("removes all approvals when commits are added", s.Outcome);
        var mr = await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}");
        Assert.Equal(head, mr["sha"]!.GetValue<string>());
        Assert.Single((await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}/approvals"))["approved_by"]!.AsArray());

        // The sandbox does remove them on a push, as GitLab would: the refusal is not for nothing.
        await h.CommitAsync(h.As("bob"), h.Upstream, "approved", "one more", [new FileChange("create", "more.txt", "m\n")]);
        Assert.Empty((await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}/approvals"))["approved_by"]!.AsArray());
    }
}

/// <summary>
/// A project that removes approvals on push, with the policy's <c>approvalsResetOnPush: reapprove</c> and the sandbox's
/// administrator token (scopes api and sudo): the bot approves again as the approvers after its push, but only when its
/// rebase changed no code.
/// </summary>
public sealed class ReapprovalTrailerTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    private static async Task<WorkflowHarness> StartAsync(SchemaFixture db, SandboxFixture sandbox, string suffix)
    {
        var h = await WorkflowHarness.StartAsync(db, sandbox, suffix, adminToken: SandboxFixture.AdminToken);
        // One approval required, and every push removes those given.
        (await h.As("maintainer").PostAsJsonAsync($"projects/{h.Upstream}/approvals", new { reset_approvals_on_push = true, approvals_before_merge = 1 }))
            .EnsureSuccessStatusCode();
        await h.Policies.SaveAsync(h.Upstream, WorkflowHarness.IncidentPolicy(h.UpstreamPath) with
        {
            Trailers = ["part-of", "reviewed-by"], ApprovalsResetOnPush = ApprovalsResetOnPush.Reapprove,
        });
        return h;
    }

    private static async Task<IReadOnlyList<string>> ApprovedBy(WorkflowHarness h, long iid) =>
        [.. (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}/approvals"))["approved_by"]!.AsArray()
            .Select(a => a!["user"]!["username"]!.GetValue<string>())];

    [Fact]
    public async Task Given_an_approved_mr_on_a_project_that_resets_approvals_When_our_trailers_are_pushed_Then_the_approver_approves_again_and_it_merges()
    {
        await using var h = await StartAsync(db, sandbox, "reappr");
        var maintainer = h.As("maintainer");
        var approver = h.Seed["users"]!["maintainer"]!["username"]!.GetValue<string>();
        var iid = await h.OpenMrAsync("reapproved", "Reapproved", new FileChange("create", "reapproved.txt", "r\n"));
        await h.CommitAsync(maintainer, h.Upstream, "main", "main moves on", [new FileChange("create", "moved.txt", "m\n")]);
        var before = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>();
        (await maintainer.PostAsync($"projects/{h.Upstream}/merge_requests/{iid}/approve", null)).EnsureSuccessStatusCode();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.True(s.State == WorkflowState.Completed, s.Outcome);
        Assert.NotEqual(before, s.RebasedSha);
        Assert.NotNull(s.PipelineId);
        // The push removed the approval (the sandbox does, as GitLab): the one there now was given again, as the same user, at our head.
        Assert.Equal([approver], await ApprovedBy(h, iid));
        var types = (await h.EventTypes(iid)).ToList();
        Assert.True(types.IndexOf("reapproval_checked") is >= 0 and var at && at < types.IndexOf("rebased"), string.Join(", ", types));
        var check = (await h.Journal.ReadAsync(new MergeRequestKey(h.Upstream, iid))).Events.OfType<ReapprovalChecked>().Single();
        Assert.True(check.Allowed, check.Reason);
        Assert.Equal(check.Facts.OldPatchId, check.Facts.NewPatchId);
        Assert.Equal(s.RebasedSha, check.Facts.NewHead);
        var message = (await h.Get(maintainer, $"projects/{h.Upstream}/repository/commits/{s.RebasedSha}"))["message"]!.GetValue<string>();
        Assert.Single(Regex.Matches(message, "^Reviewed-by: .+ <.+@.+>$", RegexOptions.Multiline));
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_an_approved_mr_When_rebasing_it_would_change_its_code_Then_nothing_is_pushed_no_one_is_approved_for_and_the_note_says_so()
    {
        await using var h = await StartAsync(db, sandbox, "reapprx");
        var maintainer = h.As("maintainer");
        var approver = h.Seed["users"]!["maintainer"]!["username"]!.GetValue<string>();
        await h.CommitAsync(maintainer, h.Upstream, "main", "notes", [new FileChange("create", "notes.txt", "a\nb\nc\nd\ne\n")]);
        var iid = await h.OpenMrAsync("patched", "Patched", new FileChange("update", "notes.txt", "a\nb\nC\nd\ne\n"));
        // Main changes a line of the MR's hunk's context: the rebase applies cleanly, but the diff is not the one approved.
        await h.CommitAsync(maintainer, h.Upstream, "main", "main edits the context", [new FileChange("update", "notes.txt", "A\nb\nc\nd\ne\n")]);
        var before = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>();
        (await maintainer.PostAsync($"projects/{h.Upstream}/merge_requests/{iid}/approve", null)).EnsureSuccessStatusCode();

        await h.Grain(iid).Enqueue(Requester.ApiToken("marge-bot"));
        var s = await h.WaitForOutcome(iid, 1);

        Assert.Equal(WorkflowState.Failed, s.State);
        Assert.Contains("changes its code", s.Outcome);
        Assert.Contains("ask the approvers to approve again", s.Outcome);
        Assert.Equal(before, (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>());
        Assert.Equal([approver], await ApprovedBy(h, iid));
        var types = await h.EventTypes(iid);
        Assert.Contains("reapproval_checked", types);
        Assert.DoesNotContain("rebased", types);
        var note = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}/notes")).AsArray()
            .Select(n => n!["body"]!.GetValue<string>()).Single(b => b.Contains("I couldn't merge this merge request"));
        Assert.Contains("approve again", note);
        Assert.True((await h.Grain(iid).Replay()).Consistent);
    }
}
