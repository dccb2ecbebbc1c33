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
        var created = new List<(PlainProject Project, List<long> Mrs)>();
        for (var p = 0; p < projects; p++)
        {
            var project = await BenchProjects.CreatePlainProjectAsync(team, $"scale-{p}", pipelineSeconds);
            var mrs = new List<long>();
            for (var i = 0; i < mrsPerProject; i++) mrs.Add(await BenchProjects.OpenMrAsync(team, project.Id, $"s{i}"));
            await BenchProjects.MoveMainAsync(team, project.Id);
            created.Add((project, mrs));
        }
        // The projects exist before the orchestrator does, so it starts knowing each one's webhook secret.
        await using var orchestrator = await ctx.StartOrchestratorAsync("scale", team.BotUsername, team.BotToken, team.MaintainerUsername,
            created.Select(c => c.Project.Id));
        foreach (var (project, _) in created)
        {
            await orchestrator.AddHookAsync(team.Maintainer, project.Id);
            await BenchProjects.PutPolicyAsync(orchestrator.Api, project.Id, new { images = Array.Empty<object>(), ciTimeoutMinutes = 30, maxRebases = 3 });
        }
        foreach (var (project, _) in created) await BenchProjects.DrainPipelinesAsync(team.Maintainer, project.Id);
        ctx.Progress($"scale: {projects} projects × {mrsPerProject} MRs ready");
        var bytesBefore = await ctx.SchemaBytesAsync(orchestrator.Schema);

        var peakGrains = 0;
        var gitlabLatency = new List<double>();
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
                    // How long the (simulated) GitLab takes to answer a plain read while the run loads it.
                    var probe = System.Diagnostics.Stopwatch.StartNew();
                    await team.Maintainer.Get($"projects/{created[0].Project.Id}");
                    gitlabLatency.Add(probe.Elapsed.TotalMilliseconds);
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(1000);
            }
        });

        var cpuBefore = orchestrator.CpuSeconds();
        var benchCpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var childCpuBefore = ChildrenCpuSeconds();
        // Everything asked for at once, as a burst of bots would; round-robin across projects.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < mrsPerProject; i++)
            foreach (var (project, mrs) in created) await OrchestratorWatch.EnqueueAsync(orchestrator.Requests, project.Id, mrs[i]);
        var total = projects * mrsPerProject;
        while (true)
        {
            var done = 0;
            foreach (var (project, _) in created)
                done += (await orchestrator.Api.Get($"api/v1/projects/{project.Id}/merge-requests?per_page=100")).AsArray()
                    .Count(m => OrchestratorWatch.Ended(m!["state"]!.GetValue<string>()));
            if (done == total) break;
            if (clock.Elapsed > TimeSpan.FromMinutes(30)) throw new TimeoutException($"scale: {done}/{total} ended after 30 min");
            await Task.Delay(1000);
        }
        await sampling.CancelAsync();
        await sampler;
        var siloCpu = orchestrator.CpuSeconds() - cpuBefore;
        var sandboxCpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - benchCpuBefore;
        var sandboxChildCpu = ChildrenCpuSeconds() - childCpuBefore;

        var outcomes = new List<OrchestratorOutcome>();
        var serial = new List<double>();
        var floors = new List<double>();
        var pipelineTimes = new List<double>();
        foreach (var (project, mrs) in created)
        {
            var sum = 0.0;
            foreach (var iid in mrs)
            {
                var outcome = await OrchestratorWatch.OutcomeAsync(orchestrator.Api, project.Id, iid);
                outcomes.Add(outcome);
                foreach (var p in outcome.Pipelines)
                {
                    var seconds = await BenchProjects.PipelineSecondsAsync(team.Maintainer, project.Id, p);
                    pipelineTimes.Add(seconds);
                    sum += seconds;
                }
            }
            serial.Add(sum);
            floors.Add(sum + mrs.Count * ctx.Sandbox.RebaseDuration.TotalSeconds);
        }
        // Where a project's serial time goes: holding the branch (first rebase to merge) and handing it over
        // (one merge to the next MR's first rebase).
        var held = outcomes.Where(o => o.FirstRebase is not null && o.Ended is not null).Select(o => (o.Ended!.Value - o.FirstRebase!.Value).TotalSeconds).ToList();
        var handovers = outcomes.GroupBy(o => o.Project).SelectMany(g =>
        {
            var ordered = g.Where(o => o.FirstRebase is not null && o.Ended is not null).OrderBy(o => o.FirstRebase).ToList();
            return ordered.Zip(ordered.Skip(1), (a, b) => (b.FirstRebase!.Value - a.Ended!.Value).TotalSeconds);
        }).ToList();
        var steps = await StepsAsync(orchestrator.Api, outcomes);
        var wall = (outcomes.Max(o => o.Ended ?? o.Requested) - outcomes.Min(o => o.Requested)).TotalSeconds;
        var ideal = serial.Max();
        // The best one MR after the other can do on this GitLab: each MR's pipelines and its rebase, which stays in
        // progress for the sandbox's rebase duration (1 s, GitLab-like) before git even runs.
        var floor = floors.Max();
        // What the machine's cores allow at best: the CPU the silo, the sandbox (this process) and its git and job
        // processes used, spread over every core (PostgreSQL's share left out, so it is a bound from below).
        var cpuFloor = (siloCpu + sandboxCpu + sandboxChildCpu) / Environment.ProcessorCount;
        var bytesAfter = await ctx.SchemaBytesAsync(orchestrator.Schema);
        var events = await ctx.CountAsync($"select count(*) from {orchestrator.Schema}.mt_events");
        // The share of the events that are the requester's permission checks (one before queueing, rebasing, creating
        // the pipeline and merging; each read GitLab's protected branches and the member's access level).
        var checks = await ctx.CountAsync($"select count(*) from {orchestrator.Schema}.mt_events where type = 'permission_checked'");
        var memory = orchestrator.Memory();
        return new JsonObject
        {
            ["projects"] = projects, ["mrs_per_project"] = mrsPerProject, ["pipeline_sleep_s"] = pipelineSeconds,
            ["merged"] = outcomes.Count(o => o.State == "completed"), ["failed"] = outcomes.Count(o => o.State != "completed"),
            ["wall_s"] = Math.Round(wall, 1), ["ideal_s"] = Math.Round(ideal, 1), ["wall_over_ideal"] = Math.Round(wall / ideal, 2),
            ["serial_floor_s"] = Math.Round(floor, 1), ["wall_over_serial_floor"] = Math.Round(wall / floor, 2),
            ["cpu_floor_s"] = Math.Round(cpuFloor, 1), ["cores"] = Environment.ProcessorCount,
            ["wall_over_floor"] = Math.Round(wall / Math.Max(floor, cpuFloor), 2),
            ["mrs_per_hour"] = Math.Round(total / wall * 3600),
            ["peak_activations"] = peakGrains, ["silo_rss_mib"] = Math.Round(memory.Rss, 1), ["silo_peak_rss_mib"] = Math.Round(Math.Max(memory.Peak, peakRss), 1),
            ["held_branch_s"] = Stats.Of(held).ToJson(), ["handover_s"] = Stats.Of(handovers).ToJson(), ["steps_s"] = steps,
            ["pipeline_wall_s"] = Stats.Of(pipelineTimes).ToJson(), ["gitlab_read_ms"] = Stats.Of(gitlabLatency).ToJson(),
            ["silo_cpu_s_per_mr"] = Math.Round(siloCpu / total, 3), ["sandbox_cpu_s_per_mr"] = Math.Round(sandboxCpu / total, 3),
            ["sandbox_processes_cpu_s_per_mr"] = Math.Round(sandboxChildCpu / total, 3),
            ["pg_bytes_per_mr"] = (bytesAfter - bytesBefore) / total, ["events_per_mr"] = Math.Round((double)events / total, 1),
            ["permission_checks_per_mr"] = Math.Round((double)checks / total, 1),
        };
    }

    /// <summary>
    /// CPU seconds of this process's children that have ended: the sandbox's git commands and CI jobs (the silo, still
    /// running, is not among them). Linux's cutime and cstime, in clock ticks of 1/100 s.
    /// </summary>
    private static double ChildrenCpuSeconds()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command's name: state is field 3, cutime 16 and cstime 17.
        return (double.Parse(fields[13]) + double.Parse(fields[14])) / 100;
    }

    /// <summary>
    /// Where the time of holding a branch goes, step by step: for each pair of the orchestrator's events that follow
    /// each other in an MR's last attempt (from its first rebase to its end), the seconds between them over every MR,
    /// the steps that cost the most in all first. Steps waiting on GitLab (a rebase, a pipeline) and steps that are
    /// the orchestrator's own (deciding, checking rights) can then be told apart.
    /// </summary>
    private static async Task<JsonObject> StepsAsync(Rest api, IEnumerable<OrchestratorOutcome> outcomes)
    {
        var gaps = new Dictionary<string, List<double>>();
        foreach (var outcome in outcomes)
        {
            var mr = await api.Get($"api/v1/projects/{outcome.Project}/merge-requests/{outcome.Iid}");
            var attempt = mr["attempt"]!.GetValue<int>();
            var events = (await api.Get($"api/v1/projects/{outcome.Project}/merge-requests/{outcome.Iid}/events")).AsArray()
                .Where(e => e!["data"]!["attempt"]?.GetValue<int>() == attempt)
                .Select(e => (Type: e!["type"]!.GetValue<string>(), At: DateTimeOffset.Parse(e["at"]!.GetValue<string>())))
                .SkipWhile(e => e.Type != "rebase_started").ToList();
            foreach (var (from, to) in events.Zip(events.Skip(1)))
            {
                var step = $"{from.Type} → {to.Type}";
                if (!gaps.TryGetValue(step, out var list)) gaps[step] = list = [];
                list.Add((to.At - from.At).TotalSeconds);
            }
        }
        var o = new JsonObject();
        foreach (var (step, list) in gaps.OrderByDescending(g => g.Value.Sum()))
        {
            var stats = Stats.Of(list).ToJson();
            stats["total"] = Math.Round(list.Sum(), 1);
            o[step] = stats;
        }
        return o;
    }
}
