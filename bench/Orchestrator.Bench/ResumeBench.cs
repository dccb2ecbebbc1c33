using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Bench.Workload;

namespace Orchestrator.Bench;

/// <summary>
/// Figure 6: how soon a restarted orchestrator resumes. One MR waits on a long pipeline; the process is killed and
/// started again with default settings, and the figure is the time from the new process's start to the first GitLab
/// call about that MR's project (the sandbox counts it: a pass-through route fault armed before the start is spent by
/// it). The project's merge request list is left out of the route: reconciliation reads it at start, the workflow does not.
/// </summary>
public static class ResumeBench
{
    public static async Task<JsonObject> RunAsync(BenchContext ctx, int rounds)
    {
        var team = await BenchProjects.CreateTeamAsync(ctx.Sandbox, "resume");
        // Longer than every round together: the workflow stays active, and no pipeline webhook wakes it meanwhile.
        var project = await BenchProjects.CreatePlainProjectAsync(team, "resume", pipelineSeconds: 900);
        var iid = await BenchProjects.OpenMrAsync(team, project.Id, "r0");
        await BenchProjects.MoveMainAsync(team, project.Id);
        var orchestrator = await ctx.StartOrchestratorAsync("resume", team.BotUsername, team.BotToken, team.MaintainerUsername, [project.Id]);
        var samples = new List<double>();
        var healthy = new List<double>();
        try
        {
            await orchestrator.AddHookAsync(team.Maintainer, project.Id);
            await BenchProjects.PutPolicyAsync(orchestrator.Api, project.Id, new { images = Array.Empty<object>(), ciTimeoutMinutes = 60, maxRebases = 3 });
            await OrchestratorWatch.EnqueueAsync(orchestrator.Requests, project.Id, iid);
            await WaitForPipelineAsync(orchestrator.Api, project.Id, iid);
            for (var round = 0; round < rounds; round++)
            {
                await orchestrator.KillAsync();
                await ArmAsync(ctx.Sandbox, project.Id);
                var clock = Stopwatch.StartNew();
                var firstCall = FirstCallAsync(ctx.Sandbox, clock, TimeSpan.FromMinutes(3));
                orchestrator = await orchestrator.StartAgainAsync();
                healthy.Add(clock.Elapsed.TotalSeconds);
                samples.Add(await firstCall);
                ctx.Progress($"resume: started → healthy {healthy[^1]:F1} s, → first GitLab call of the active workflow {samples[^1]:F1} s");
            }
        }
        finally
        {
            await orchestrator.DisposeAsync();
            await CancelPipelinesAsync(team.Maintainer, project.Id);
        }
        return new JsonObject
        {
            ["rounds"] = rounds,
            ["start_to_first_gitlab_call_s"] = Stats.Of(samples).ToJson(),
            ["start_to_healthy_s"] = Stats.Of(healthy).ToJson(),
            ["settings"] = "defaults (10 s poll, 1 min reminder period, reconciliation every 5 min)",
        };
    }

    private static async Task WaitForPipelineAsync(Rest api, long project, long iid)
    {
        for (var i = 0; i < 1200; i++)
        {
            var events = (await api.Get($"api/v1/projects/{project}/merge-requests/{iid}/events")).AsArray();
            if (events.Any(e => e!["type"]!.GetValue<string>() == "pipeline_created")) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"!{iid}: the orchestrator created no pipeline");
    }

    private static async Task ArmAsync(SandboxHost sandbox, long project) =>
        (await sandbox.Admin.PutRaw("../../-/sandbox/faults", new
        {
            routes = new[] { new { method = "*", path = $"^/api/v4/projects/{project}/(?!merge_requests$)", delay_ms = 0, count = 1 } },
        })).EnsureSuccessStatusCode();

    /// <summary>Seconds on <paramref name="clock"/> when the armed route was spent, read every 20 ms.</summary>
    private static async Task<double> FirstCallAsync(SandboxHost sandbox, Stopwatch clock, TimeSpan timeout)
    {
        while (clock.Elapsed < timeout)
        {
            var faults = await sandbox.Admin.Get("../../-/sandbox/faults");
            if (faults["armed_routes"]!.GetValue<int>() == 0) return clock.Elapsed.TotalSeconds;
            await Task.Delay(20);
        }
        throw new TimeoutException($"no GitLab call for the active workflow within {timeout}");
    }

    private static async Task CancelPipelinesAsync(Rest gitlab, long project)
    {
        foreach (var p in (await gitlab.Get($"projects/{project}/pipelines?per_page=100")).AsArray())
            if (p!["status"]!.GetValue<string>() is "running" or "pending" or "created")
                await gitlab.Post($"projects/{project}/pipelines/{p["id"]}/cancel");
    }
}
