extern alias sandbox;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using sandbox::Sandbox.Seed;
using static Orchestrator.IntegrationTests.Workflow.TrainWorkflowTests;
using static Orchestrator.IntegrationTests.Workflow.WorkflowHarnessExtensions;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// Merge trains where GitLab's merge is not the tested commit: merge-commit projects (each car tested on a train branch,
/// its merge commit's tree held to the tested tree), semi-linear ones (one car at a time), and a car that leaves.
/// </summary>
public sealed class TrainMergeMethodTests(SchemaFixture db, SlowJobsSandboxFixture sandbox, Xunit.Abstractions.ITestOutputHelper output)
    : IClassFixture<SchemaFixture>, IClassFixture<SlowJobsSandboxFixture>
{
    private static readonly TimeSpan TrainTime = TimeSpan.FromMinutes(4);

    /// <summary>Tests that fail after a while: the car ahead is still running when they do.</summary>
    private static readonly FileChange Breaking = new("update", ".gitlab-ci/run-tests.sh",
        "sleep 8\necho 'FAIL: broken on purpose'\nexit 1\n" + IncidentFiles.RunTests);

    [Fact]
    public async Task Given_a_merge_commit_train_of_three_When_the_second_car_fails_Then_one_and_three_land_in_order_as_merge_commits_with_the_tested_trees()
    {
        await using var h = await StartTrainAsync(db, sandbox, "trainmerge", depth: 3, maxPipelines: 3, mergeMethod: "merge");
        var maintainer = h.As("maintainer");
        var before = await h.MainHead();
        var mrs = new[]
        {
            await h.OpenMrAsync("mc-one", "One", new FileChange("create", "one.txt", "1\n")),
            await h.OpenMrAsync("mc-two", "Two breaks the tests", Breaking),
            await h.OpenMrAsync("mc-three", "Three", new FileChange("create", "three.txt", "3\n")),
        };
        var authorHeads = new List<string>();
        foreach (var iid in mrs) authorHeads.Add((await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>());
        await EnqueueInOrderAsync(h, mrs);
        await Eventually.True(async () => (await Train(h).GetTrain()).Cars.Count == 3, "three cars in the train");

        var outcomes = new List<MergeRequestWorkflow>();
        foreach (var iid in mrs) outcomes.Add(await h.WaitForOutcome(iid, 1, TrainTime));
        await TellAsync(h, mrs, output);

        Assert.Equal([WorkflowState.Completed, WorkflowState.Failed, WorkflowState.Completed], outcomes.Select(s => s.State));
        Assert.StartsWith("CI failed! (car 2 of the merge train of `main`", outcomes[1].Outcome);
        // Main's first-parent history is GitLab's merge commit of one, then of three, and nothing else.
        var one = await CommitAsync(h, outcomes[0].MergeCommitSha!);
        var three = await CommitAsync(h, outcomes[2].MergeCommitSha!);
        Assert.Equal([before, authorHeads[0]], one["parent_ids"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal([outcomes[0].MergeCommitSha!, authorHeads[2]], three["parent_ids"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal(outcomes[2].MergeCommitSha, await h.MainHead());
        foreach (var (s, i) in new[] { (outcomes[0], 0), (outcomes[2], 2) })
        {
            // What landed is the tree our pipeline tested, as GitLab itself compares them.
            Assert.Empty(await DiffAsync(h, s.MergeCommitSha!, s.RebasedSha!));
            var pipeline = await h.Get(maintainer, $"projects/{h.Upstream}/pipelines/{s.PipelineId}");
            Assert.Equal((s.RebasedSha, MergeCommitCars.TrainBranch("main", mrs[i]), "success"),
                (pipeline["sha"]!.GetValue<string>(), pipeline["ref"]!.GetValue<string>(), pipeline["status"]!.GetValue<string>()));
            Assert.Contains(await h.EventTypes(mrs[i]), t => t == "train_car_landing_checked");
        }
        // Three's car was rebuilt without two once two's failure was its own (one had landed): tested on main itself.
        Assert.Empty(outcomes[2].Car!.Ahead);
        Assert.Contains((await h.Grain(mrs[2]).GetEvents()).Where(e => e.Type == "train_car_assigned"), e => e.Data.Contains("the train was rebuilt"));
        foreach (var iid in mrs)
        {
            // The train branches are gone, their pushes started no pipeline (every one on them is ours), and each merge
            // request's own branch is as its author pushed it.
            var branch = MergeCommitCars.TrainBranch("main", iid);
            Assert.Equal(HttpStatusCode.NotFound,
                (await maintainer.GetAsync($"projects/{h.Upstream}/repository/branches/{Uri.EscapeDataString(branch)}")).StatusCode);
            var onBranch = (await h.Get(maintainer, $"projects/{h.Upstream}/pipelines?ref={Uri.EscapeDataString(branch)}&per_page=100")).AsArray()
                .Select(p => p!["id"]!.GetValue<long>()).ToList();
            Assert.NotEmpty(onBranch);
            var ours = await OurPipelinesAsync(h, iid);
            Assert.All(onBranch, id => Assert.Contains(id, ours));
            Assert.Equal(authorHeads[Array.IndexOf(mrs, iid)],
                (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}"))["sha"]!.GetValue<string>());
            Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
        }
        var train = await Train(h).GetTrain();
        Assert.True(train.Consistent);
        Assert.Equal([mrs[0], mrs[2]], train.Landed);
    }

    [Fact]
    public async Task Given_a_merge_commit_train_of_two_When_main_moves_between_the_tree_check_and_the_merge_Then_the_landing_check_stops_the_car_behind_with_a_note()
    {
        await using var h = await StartTrainAsync(db, sandbox, "trainhalt", depth: 2, maxPipelines: 2, mergeMethod: "merge");
        var maintainer = h.As("maintainer");
        var mrs = new[]
        {
            await h.OpenMrAsync("halt-one", "One", new FileChange("create", "halt-one.txt", "1\n")),
            await h.OpenMrAsync("halt-two", "Two", new FileChange("create", "halt-two.txt", "2\n")),
        };
        // One's merge is held a few seconds once asked for: main moves meanwhile, after its tree was checked.
        await h.Faults(new { routes = new[] { new { method = "PUT", path = $"^/api/v4/projects/{h.Upstream}/merge_requests/{mrs[0]}/merge$", delay_ms = 6000, count = 1 } } });
        await EnqueueInOrderAsync(h, mrs);
        // Its merge call has reached GitLab (and is held there) only once its tree was checked: main moves now.
        await Eventually.True(async () => await h.ArmedRoutes() == 0, "one's merge to be asked for", TrainTime);
        await h.CommitAsync(maintainer, h.Upstream, "main", "Someone else's change", [new FileChange("create", "elsewhere.txt", "x\n")]);

        var outcomes = new[] { await h.WaitForOutcome(mrs[0], 1, TrainTime), await h.WaitForOutcome(mrs[1], 1, TrainTime) };
        await TellAsync(h, mrs, output);

        Assert.Equal([WorkflowState.Completed, WorkflowState.Failed], outcomes.Select(s => s.State));
        Assert.NotEmpty(await DiffAsync(h, outcomes[0].MergeCommitSha!, outcomes[0].RebasedSha!));
        Assert.True(outcomes[0].Car!.Ended!.LandedUntested);
        Assert.StartsWith("The merge train of `main` stopped", outcomes[1].Outcome);
        Assert.Contains($"!{mrs[0]} landed as {outcomes[0].MergeCommitSha}", outcomes[1].Outcome);
        Assert.Contains(await h.NotesAsync(mrs[0]), n => n.Contains("not the tree") && n.Contains("The merge train stopped"));
        foreach (var iid in mrs)
            Assert.Equal(HttpStatusCode.NotFound, (await maintainer.GetAsync(
                $"projects/{h.Upstream}/repository/branches/{Uri.EscapeDataString(MergeCommitCars.TrainBranch("main", iid))}")).StatusCode);
        Assert.True((await Train(h).GetTrain()).Consistent);
        foreach (var iid in mrs) Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
    }

    [Fact]
    public async Task Given_a_semi_linear_project_with_a_deep_train_policy_When_three_merge_requests_ride_Then_never_two_cars_run_at_once_and_each_lands_its_tested_tree()
    {
        await using var h = await StartTrainAsync(db, sandbox, "trainsemi", depth: 4, maxPipelines: 4, mergeMethod: "rebase_merge");
        var mrs = new List<long>();
        for (var i = 1; i <= 3; i++) mrs.Add(await h.OpenMrAsync($"semi-{i}", $"Semi {i}", new FileChange("create", $"semi-{i}.txt", $"{i}\n")));
        await EnqueueInOrderAsync(h, mrs);

        var outcomes = new List<MergeRequestWorkflow>();
        foreach (var iid in mrs) outcomes.Add(await h.WaitForOutcome(iid, 1, TrainTime));
        await TellAsync(h, mrs, output);

        Assert.All(outcomes, s => Assert.Equal(WorkflowState.Completed, s.State));
        Assert.All(outcomes, s => Assert.Empty(s.Car!.Ahead));
        Assert.Equal(1, await MostAtOnceAsync(h, mrs));
        for (var i = 0; i < outcomes.Count; i++)
        {
            var merge = await CommitAsync(h, outcomes[i].MergeCommitSha!);
            // Semi-linear: GitLab's merge commit of the tested head, which was rebased onto the landing before it.
            Assert.Equal(outcomes[i].RebasedSha, merge["parent_ids"]![1]!.GetValue<string>());
            if (i > 0) Assert.Equal(outcomes[i - 1].MergeCommitSha, merge["parent_ids"]![0]!.GetValue<string>());
            Assert.Empty(await DiffAsync(h, outcomes[i].MergeCommitSha!, outcomes[i].RebasedSha!));
        }
        Assert.True((await Train(h).GetTrain()).Consistent);
        foreach (var iid in mrs) Assert.True((await h.Grain(iid).Replay()).Consistent, $"!{iid}'s replay");
    }

    [Fact]
    public async Task Given_a_car_behind_another_When_it_leaves_without_landing_Then_its_branch_holds_its_authors_commits_again()
    {
        await using var h = await StartTrainAsync(db, sandbox, "trainleave", depth: 2, maxPipelines: 2, mergeMethod: "ff");
        var maintainer = h.As("maintainer");
        var mrs = new[]
        {
            await h.OpenMrAsync("leave-one", "One", new FileChange("create", "leave-one.txt", "1\n")),
            await h.OpenMrAsync("leave-two", "Two breaks the tests", Breaking),
        };
        var own = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{mrs[1]}"))["sha"]!.GetValue<string>();
        await EnqueueInOrderAsync(h, mrs);
        // Its car held one's commits under its own: the branch was rewritten to the speculative head.
        var riding = await h.WaitForState(mrs[1], s => s.RebasedSha is not null, "its car pushed");
        Assert.NotEqual(own, riding.RebasedSha);

        var outcomes = new[] { await h.WaitForOutcome(mrs[0], 1, TrainTime), await h.WaitForOutcome(mrs[1], 1, TrainTime) };
        await TellAsync(h, mrs, output);

        Assert.Equal([WorkflowState.Completed, WorkflowState.Failed], outcomes.Select(s => s.State));
        var head = await Eventually.Get(async () => await h.Get(maintainer, $"projects/{h.Upstream}/repository/branches/leave-two"),
            b => b["commit"]!["id"]!.GetValue<string>() == own, "leave-two back at its author's head");
        Assert.Equal(own, head["commit"]!["id"]!.GetValue<string>());
        Assert.Contains(await h.NotesAsync(mrs[1]), n => n.Contains($"is back at {own}"));
        Assert.True((await h.Grain(mrs[1]).Replay()).Consistent);
    }

    [Fact]
    public async Task Given_a_car_behind_one_whose_requester_lost_the_right_to_merge_When_it_would_push_Then_it_waits_and_lands_without_that_car()
    {
        await using var h = await StartTrainAsync(db, sandbox, "trainahead", depth: 2, maxPipelines: 2, mergeMethod: "ff");
        var maintainer = h.As("maintainer");
        var bob = h.Seed["users"]!["bob"]!;
        var (bobId, bobName) = (bob["id"]!.GetValue<long>(), bob["username"]!.GetValue<string>());
        (await maintainer.PutAsJsonAsync($"projects/{h.Upstream}/members/{bobId}", new { access_level = 40 })).EnsureSuccessStatusCode();
        var one = await h.OpenMrAsync("ahead-one", "One", new FileChange("create", "ahead-one.txt", "1\n"));
        var two = await h.OpenMrAsync("ahead-two", "Two", new FileChange("create", "ahead-two.txt", "2\n"));
        // Bob assigns the bot, as the requester kind says (a request by assignment stands only while the bot is assigned).
        (await h.As("bob").PutAsJsonAsync($"projects/{h.Upstream}/merge_requests/{one}",
            new { assignee_ids = new[] { h.Seed["users"]!["bot"]!["id"]!.GetValue<long>() } })).EnsureSuccessStatusCode();
        await h.Grain(one).Enqueue(Requester.Person(TriggerKind.Assignment, bobName, bobId));
        var running = await h.WaitForState(one, s => s.PipelineId is not null, "one's pipeline");
        // Bob may no longer merge: one's code must not be pushed or run again in anyone's car.
        (await maintainer.PutAsJsonAsync($"projects/{h.Upstream}/members/{bobId}", new { access_level = 20 })).EnsureSuccessStatusCode();
        await EnqueueInOrderAsync(h, [two]);

        var outcomes = new[] { await h.WaitForOutcome(one, 1, TrainTime), await h.WaitForOutcome(two, 1, TrainTime) };
        await TellAsync(h, [one, two], output);

        Assert.Equal((WorkflowState.Failed, WorkflowState.Completed), (outcomes[0].State, outcomes[1].State));
        Assert.Contains("may no longer merge this", outcomes[0].Outcome);
        var events = await h.Grain(two).GetEvents();
        Assert.Contains(events, e => e.Type == "train_cars_ahead_checked" && e.Data.Contains($"may no longer merge !{one}, a car ahead"));
        // Two never pushed a head on top of one's, and landed on main without it.
        Assert.DoesNotContain(events.Where(e => e.Type == "rebased"), e => e.Data.Contains(running.RebasedSha!));
        Assert.Empty(outcomes[1].Car!.Ahead);
        Assert.Equal(outcomes[1].RebasedSha, await h.MainHead());
        // Nor did it say its branch would hold one's commits.
        Assert.DoesNotContain(await h.NotesAsync(two), n => n.Contains($"tested on top of !{one}"));
        Assert.True((await h.Grain(two).Replay()).Consistent);
    }

    private static Task<JsonNode> CommitAsync(WorkflowHarness h, string sha) => h.Get(h.As("maintainer"), $"projects/{h.Upstream}/repository/commits/{sha}");

    /// <summary>GitLab's own diff between two commits' trees (straight: no merge base): empty when the trees are the same.</summary>
    private static async Task<JsonArray> DiffAsync(WorkflowHarness h, string from, string to) =>
        (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/repository/compare?from={from}&to={to}&straight=true"))["diffs"]!.AsArray();
}
