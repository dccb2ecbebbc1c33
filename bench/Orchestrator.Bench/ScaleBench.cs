using System.Text.Json.Nodes;
using Orchestrator.Bench.Workload;

namespace Orchestrator.Bench;

/// <summary>
/// Figure 2: many projects at once. Every MR of every project is enqueued together; each project's queue lands
/// its MRs one after the other, the projects side by side. Wall time is first request to last merge (the
/// orchestrator's own events); the ideal is the longest project's serial sum of its pipelines' wall times.
/// </summary>
public static class ScaleBench
{
    public static async Task<JsonObject> RunAsync(BenchContext ctx, int projects, int mrsPerProject, double pipelineSeconds)
    {
        var team = await BenchProjects.CreateTeamAsync(ctx.Sandbox, "scale");
        await using var orchestrator = await ctx.StartOrchestratorAsync("scale", team);
        var created = new List<(PlainProject Project, List<long> Mrs)>();
        for (var p = 0; p < projects; p++)
        {
            var project = await BenchProjects.CreatePlainProjectAsync(team, $"scale-{p}", pipelineSeconds, orchestrator.Url);
            await BenchProjects.PutPolicyAsync(orchestrator.Api, project.Id, new { images = Array.Empty<object>(), ciTimeoutMinutes = 30, maxRebases = 3 });
            var mrs = new List<long>();
            for (var i = 0; i < mrsPerProject; i++) mrs.Add(await BenchProjects.OpenMrAsync(team, project.Id, $"s{i}"));
            await BenchProjects.MoveMainAsync(team, project.Id);
            created.Add((project, mrs));
        }
        foreach (var (project, _) in created) await BenchProjects.DrainPipelinesAsync(team.Maintainer, project.Id);
        ctx.Progress($"scale: {projects} projects × {mrsPerProject} MRs ready");
        var bytesBefore = await ctx.SchemaBytesAsync(orchestrator.Schema);

        var peakGrains = 0;
        var peakRss = 0.0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                try
                {
                    var cluster = await orchestrator.Api.Get("api/v1/ops/cluster");
                    peakGrains = Math.Max(peakGrains, cluster["activations"]!.GetValue<int>());
                    peakRss = Math.Max(peakRss, orchestrator.Memory().Rss);
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(1000);
            }
        });

        // Everything asked for at once, as a burst of bots would; round-robin across projects.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < mrsPerProject; i++)
            foreach (var (project, mrs) in created) await OrchestratorWatch.EnqueueAsync(orchestrator.Api, project.Id, mrs[i]);
        var total = projects * mrsPerProject;
        while (true)
        {
            var done = 0;
            foreach (var (project, _) in created)
                done += (await orchestrator.Api.Get($"api/v1/projects/{project.Id}/merge-requests?per_page=100")).AsArray()
                    .Count(m => m!["state"]!.GetValue<string>() is "completed" or "failed" or "cancelled");
            if (done == total) break;
            if (clock.Elapsed > TimeSpan.FromMinutes(30)) throw new TimeoutException($"scale: {done}/{total} ended after 30 min");
            await Task.Delay(1000);
        }
        await sampling.CancelAsync();
        await sampler;

        var outcomes = new List<OrchestratorOutcome>();
        var serial = new List<double>();
        foreach (var (project, mrs) in created)
        {
            var sum = 0.0;
            foreach (var iid in mrs)
            {
                var outcome = await OrchestratorWatch.OutcomeAsync(orchestrator.Api, project.Id, iid);
                outcomes.Add(outcome);
                foreach (var p in outcome.Pipelines) sum += await BenchProjects.PipelineSecondsAsync(team.Maintainer, project.Id, p);
            }
            serial.Add(sum);
        }
        var wall = (outcomes.Max(o => o.Ended ?? o.Requested) - outcomes.Min(o => o.Requested)).TotalSeconds;
        var ideal = serial.Max();
        var bytesAfter = await ctx.SchemaBytesAsync(orchestrator.Schema);
        var events = await ctx.CountAsync($"select count(*) from {orchestrator.Schema}.mt_events");
        var memory = orchestrator.Memory();
        return new JsonObject
        {
            ["projects"] = projects, ["mrs_per_project"] = mrsPerProject, ["pipeline_sleep_s"] = pipelineSeconds,
            ["merged"] = outcomes.Count(o => o.State == "completed"), ["failed"] = outcomes.Count(o => o.State != "completed"),
            ["wall_s"] = Math.Round(wall, 1), ["ideal_s"] = Math.Round(ideal, 1), ["wall_over_ideal"] = Math.Round(wall / ideal, 2),
            ["mrs_per_hour"] = Math.Round(total / wall * 3600),
            ["peak_activations"] = peakGrains, ["silo_rss_mib"] = Math.Round(memory.Rss, 1), ["silo_peak_rss_mib"] = Math.Round(Math.Max(memory.Peak, peakRss), 1),
            ["pg_bytes_per_mr"] = (bytesAfter - bytesBefore) / total, ["events_per_mr"] = Math.Round((double)events / total, 1),
        };
    }
}
