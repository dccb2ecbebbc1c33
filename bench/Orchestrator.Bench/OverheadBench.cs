using System.Text.Json.Nodes;
using Orchestrator.Bench.Baseline;
using Orchestrator.Bench.Workload;

namespace Orchestrator.Bench;

/// <summary>
/// Figure 1: the time each side adds on top of CI for one MR, on the same sandbox in one run. N MRs per side, one
/// at a time, each pipeline a fixed sleep. Orchestrator: enqueue → merged (its own events) minus the wall time of
/// the pipelines it created. Baseline: from picking the MR up to GitLab's merge answer, minus its pipeline's wall
/// time (its idle sleep between project scans is not counted, in its favour).
/// </summary>
public static class OverheadBench
{
    public static async Task<JsonObject> RunAsync(BenchContext ctx, int mrs, double pipelineSeconds)
    {
        var team = await BenchProjects.CreateTeamAsync(ctx.Sandbox, "ovh");
        var orchProject = await BenchProjects.CreatePlainProjectAsync(team, "overhead-orchestrator", pipelineSeconds);
        var margeProject = await BenchProjects.CreatePlainProjectAsync(team, "overhead-baseline", pipelineSeconds);
        await using var orchestrator = await ctx.StartOrchestratorAsync("overhead", team.BotUsername, team.BotToken, team.MaintainerUsername, [orchProject.Id]);
        await orchestrator.AddHookAsync(team.Maintainer, orchProject.Id);
        await BenchProjects.PutPolicyAsync(orchestrator.Api, orchProject.Id, new { images = Array.Empty<object>(), ciTimeoutMinutes = 10, maxRebases = 3 });
        var orchMrs = new List<long>();
        var margeMrs = new List<long>();
        for (var i = 0; i < mrs; i++)
        {
            orchMrs.Add(await BenchProjects.OpenMrAsync(team, orchProject.Id, $"o{i}"));
            margeMrs.Add(await BenchProjects.OpenMrAsync(team, margeProject.Id, $"m{i}"));
        }
        // main moves once after the MRs were opened, so every MR (the first too) needs a real rebase and a new pipeline.
        foreach (var project in new[] { orchProject, margeProject }) await BenchProjects.MoveMainAsync(team, project.Id);
        await BenchProjects.DrainPipelinesAsync(team.Maintainer, orchProject.Id);
        await BenchProjects.DrainPipelinesAsync(team.Maintainer, margeProject.Id);

        var orchOverheads = new List<double>();
        foreach (var iid in orchMrs)
        {
            await OrchestratorWatch.EnqueueAsync(orchestrator.Requests, orchProject.Id, iid);
            var outcome = await OrchestratorWatch.WaitAsync(orchestrator.Api, orchProject.Id, iid, TimeSpan.FromMinutes(5));
            if (outcome.State != "completed") throw new InvalidOperationException($"orchestrator: !{iid} ended {outcome.State}: {outcome.Outcome}");
            var ci = 0.0;
            foreach (var p in outcome.Pipelines) ci += await BenchProjects.PipelineSecondsAsync(team.Maintainer, orchProject.Id, p);
            orchOverheads.Add(outcome.Seconds - ci);
            ctx.Progress($"overhead: orchestrator !{iid} {outcome.Seconds:F1} s, CI {ci:F1} s");
        }

        var bot = new MargeStyleBot(team.Bot, ciPoll: TimeSpan.FromSeconds(10), stepPoll: TimeSpan.FromSeconds(1));
        var margeOverheads = new List<double>();
        foreach (var iid in margeMrs)
        {
            var outcome = await bot.MergeAsync(margeProject.Id, iid);
            if (!outcome.Merged) throw new InvalidOperationException($"baseline: !{iid} not merged: {outcome.Reason}");
            var ci = 0.0;
            foreach (var (project, pipeline) in outcome.Pipelines) ci += await BenchProjects.PipelineSecondsAsync(team.Maintainer, project, pipeline);
            margeOverheads.Add(outcome.Seconds - ci);
            ctx.Progress($"overhead: baseline !{iid} {outcome.Seconds:F1} s, CI {ci:F1} s");
        }

        var o = Stats.Of(orchOverheads);
        var m = Stats.Of(margeOverheads);
        return new JsonObject
        {
            ["mrs_per_side"] = mrs, ["pipeline_sleep_s"] = pipelineSeconds,
            ["orchestrator_overhead_s"] = o.ToJson(), ["baseline_overhead_s"] = m.ToJson(),
            ["ratio_median_baseline_over_orchestrator"] = Math.Round(m.Median / o.Median, 2),
            ["baseline"] = "one MR at a time: GitLab rebase, pipeline of that SHA polled every 10 s, merge with sha=",
            ["orchestrator"] = "process as deployed: webhooks from the sandbox, default 10 s poll as the fallback",
        };
    }
}
