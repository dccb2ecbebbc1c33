using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Bench.Simulation;
using Orchestrator.Bench.Workload;
using Orchestrator.Domain.Trains;

namespace Orchestrator.Bench;

/// <summary>
/// Figure 7: a merge train on the sandbox against serial in the same run, and the simulator's prediction for the same
/// parameters. Two fast-forward projects, the same N MRs in each (every tenth breaks the tests of every pipeline that
/// carries it), each pipeline a fixed sleep; one project serial, the other a merge train of the given depth. The
/// simulator gets the pipeline's measured wall time and the serial run's measured overhead per car and per landing (not
/// fitted: nothing of the train side goes into the prediction). Both sides run at the same time.
/// </summary>
public static class TrainBench
{
    public static async Task<JsonObject> RunAsync(BenchContext ctx, int mrs, double pipelineSeconds, int depth)
    {
        var team = await BenchProjects.CreateTeamAsync(ctx.Sandbox, "trn");
        var train = await CreateProjectAsync(team, "train-merge-train", pipelineSeconds);
        var serial = await CreateProjectAsync(team, "train-serial", pipelineSeconds);
        await using var orchestrator = await ctx.StartOrchestratorAsync("trains", team.BotUsername, team.BotToken, team.MaintainerUsername, [train.Id, serial.Id]);
        var basePolicy = new { images = Array.Empty<object>(), ciTimeoutMinutes = 10, maxRebases = 3, stepTimeoutMinutes = 10 };
        await BenchProjects.PutPolicyAsync(orchestrator.Api, serial.Id, basePolicy);
        await BenchProjects.PutPolicyAsync(orchestrator.Api, train.Id, new
        {
            basePolicy.images, basePolicy.ciTimeoutMinutes, basePolicy.maxRebases, basePolicy.stepTimeoutMinutes,
            train = new { strategy = "merge-train", depth },
        });
        // The two sides run at once, on projects of their own fork networks: the same machine, load and sandbox for both,
        // and the figure takes the slower side's time rather than the sum.
        var runs = await Task.WhenAll(new[] { ("merge_train", train), ("serial", serial) }.Select(async side =>
        {
            var (name, project) = side;
            await orchestrator.AddHookAsync(team.Maintainer, project.Id);
            var iids = new List<long>();
            for (var i = 0; i < mrs; i++) iids.Add(await OpenAsync(team, project.Id, $"{name}-{i}", breaks: Breaks(i)));
            await BenchProjects.DrainPipelinesAsync(team.Maintainer, project.Id);
            ctx.Progress($"trains: {name}, {mrs} MRs ({Enumerable.Range(0, mrs).Count(Breaks)} break the tests)");
            foreach (var iid in iids) await OrchestratorWatch.EnqueueAsync(orchestrator.Requests, project.Id, iid);
            var ended = new List<OrchestratorOutcome>();
            foreach (var iid in iids) ended.Add(await OrchestratorWatch.WaitAsync(orchestrator.Api, project.Id, iid, TimeSpan.FromMinutes(20)));
            if (Environment.GetEnvironmentVariable("BENCH_TRAIN_TRACE") is { Length: > 0 } trace)
                foreach (var iid in iids)
                    foreach (var e in (await orchestrator.Api.Get($"api/v1/projects/{project.Id}/merge-requests/{iid}/events")).AsArray())
                        await File.AppendAllTextAsync(trace, $"{name} !{iid} {e!["at"]} {e["type"]}\n");
            return (Name: name, Ended: ended);
        }));
        var outcomes = runs.ToDictionary(r => r.Name, r => r.Ended);
        var sides = new JsonObject();
        foreach (var (name, ended) in runs)
        {
            var landed = ended.Count(o => o.State == "completed");
            var first = ended.Min(o => o.Requested);
            var last = ended.Max(o => o.Ended ?? o.Requested);
            var hours = (last - first).TotalHours;
            var pipelines = ended.Sum(o => o.Pipelines.Count);
            sides[name] = new JsonObject
            {
                ["landed"] = landed, ["failed"] = ended.Count - landed, ["wall_s"] = Math.Round((last - first).TotalSeconds, 1),
                ["landings_per_hour"] = Math.Round(landed / hours, 1),
                // Between the first landing and the last: the rate once the train runs, as the simulator counts it after its warm-up.
                ["steady_landings_per_hour"] = Math.Round(SteadyRate(ended), 1),
                ["pipelines_per_landed"] = Math.Round(pipelines / (double)Math.Max(1, landed), 2),
                // Landings are serial whatever the strategy (each waits for the one before, then for GitLab's checks): the gap bounds a train.
                ["landing_gap_s"] = Stats.Of([.. ended.Where(o => o.State == "completed").Select(o => o.Ended!.Value).Order()
                    .Pairwise().Select(p => (p.Second - p.First).TotalSeconds)]).ToJson(),
            };
            ctx.Progress($"trains: {name} landed {landed} in {(last - first).TotalSeconds:F0} s ({landed / hours:F0}/h), {pipelines} pipelines");
        }

        // What the simulator is told: the pipeline's wall time as GitLab measured it, and each side's components.
        var walls = new List<double>();
        foreach (var o in outcomes["serial"].Where(o => o.State == "completed"))
            foreach (var p in o.Pipelines) walls.Add(await BenchProjects.PipelineSecondsAsync(team.Maintainer, serial.Id, p));
        var wall = Stats.Of(walls).Median;
        var serialLanded = outcomes["serial"].Where(o => o.State == "completed").ToList();
        // Each side's components, measured on its own run (service times, not rates: failures, rebuilds, the budget and
        // the order of landings are the simulator's). A car's cycle runs from its last rebase's start to the last look at
        // its pipeline: beyond the pipeline's wall time, that is its overhead (rebase, checks, pipeline creation, polls).
        // Landings go one at a time: a car whose target did not move since it was tested merges the serial side's merge
        // time after its pipeline; one that waited for the merge ahead merges a chained landing's time after it; a car on
        // the target itself starts the serial hand-over after the merge before it; a car behind another starts once that
        // car's rebase has pushed its head.
        double Median(IEnumerable<double> values) => Stats.Of([.. values]).Median;
        double Overhead(string side) => Math.Max(0, Median(outcomes[side].Select(o => o.CycleSeconds).OfType<double>()) - wall);
        double Rebase(string side) => Median(outcomes[side].SelectMany(o => o.RebaseSeconds ?? []));
        var merge = Median(serialLanded.Select(o => o.LandingSeconds ?? 0));
        var handover = Median(outcomes["serial"].Where(o => o.Ended is not null).OrderBy(o => o.Ended).Pairwise()
            .Where(p => p.Second.FirstRebase > p.First.Ended).Select(p => (p.Second.FirstRebase!.Value - p.First.Ended!.Value).TotalSeconds));
        var chainedGaps = Stats.Of([.. outcomes["merge_train"].Where(o => o.State == "completed").OrderBy(o => o.Ended).Pairwise()
            .Where(p => p.Second.LastPipelineSeen < p.First.Ended).Select(p => (p.Second.Ended!.Value - p.First.Ended!.Value).TotalSeconds)]);
        var landing = new LandingCosts(merge, chainedGaps.Count > 0 ? chainedGaps.Median : merge + ctx.Sandbox.MergeCheckDuration.TotalSeconds, handover);
        var measured = new Dictionary<string, SimulationSettings>();
        foreach (var side in new[] { "merge_train", "serial" })
            measured[side] = new SimulationSettings(PipelineMinutes: wall / 60, FailureShare: Failing, Budget: depth, BumpShare: 0, BuildMinutes: 0,
                OverheadSeconds: Overhead(side), Backlog: 2 * depth + 4, Hours: 6, WarmupHours: 0.5, Seed: 19, Landing: landing, RebaseSeconds: Rebase(side));
        foreach (var (name, strategy) in new[] { ("merge_train", TrainStrategy.MergeTrain), ("serial", TrainStrategy.Serial) })
        {
            var result = TrainSimulation.Run(measured[name], strategy, replay: false);
            sides[name]!["simulator_landings_per_hour"] = Math.Round(result.LandingsPerHour, 1);
            sides[name]!["simulator_pipelines_per_landed"] = Math.Round(result.PipelinesPerLanded, 2);
            sides[name]!["measured_over_simulated"] = Math.Round(sides[name]!["steady_landings_per_hour"]!.GetValue<double>() / result.LandingsPerHour, 2);
        }
        return new JsonObject
        {
            ["mrs_per_side"] = mrs, ["failing_share"] = Failing, ["depth"] = depth, ["pipeline_sleep_s"] = pipelineSeconds,
            ["pipeline_wall_s"] = Math.Round(wall, 2),
            ["overhead_per_car_s"] = new JsonObject { ["merge_train"] = Math.Round(measured["merge_train"].OverheadSeconds, 2), ["serial"] = Math.Round(measured["serial"].OverheadSeconds, 2) },
            ["landing_s"] = new JsonObject { ["merge"] = Math.Round(merge, 2), ["chained"] = Math.Round(landing.Chained, 2), ["chained_measured"] = chainedGaps.Count, ["handover"] = Math.Round(handover, 2) },
            ["rebase_s"] = new JsonObject { ["merge_train"] = Math.Round(measured["merge_train"].RebaseSeconds, 2), ["serial"] = Math.Round(measured["serial"].RebaseSeconds, 2) },
            ["merge_train"] = sides["merge_train"]!.DeepClone(), ["serial"] = sides["serial"]!.DeepClone(),
            ["train_over_serial"] = Math.Round(sides["merge_train"]!["landings_per_hour"]!.GetValue<double>()
                / sides["serial"]!["landings_per_hour"]!.GetValue<double>(), 2),
            ["simulator"] = "TrainSimulation given the pipeline's wall time and each side's measured overhead per car, rebase, merge, chained landing and hand-over (merges one at a time; a car behind another starts once its head is pushed), saturated arrivals, same failure share; measured rate between the first and last landing",
        };
    }

    private const double Failing = 0.1;

    private static double SteadyRate(IReadOnlyList<OrchestratorOutcome> ended)
    {
        var landings = ended.Where(o => o.State == "completed").Select(o => o.Ended!.Value).Order().ToList();
        return landings.Count < 2 ? double.NaN : (landings.Count - 1) / (landings[^1] - landings[0]).TotalHours;
    }

    private static IEnumerable<(T First, T Second)> Pairwise<T>(this IEnumerable<T> items) => items.Zip(items.Skip(1));

    /// <summary>Every tenth MR, the fifth first: a train of four always has one in it.</summary>
    private static bool Breaks(int index) => index % 10 == 4;

    /// <summary>A fast-forward project whose pipeline sleeps, then fails when the tree holds a file under <c>breaks/</c>.</summary>
    private static async Task<PlainProject> CreateProjectAsync(Team team, string name, double pipelineSeconds)
    {
        var project = await BenchProjects.CreatePlainProjectAsync(team, name, pipelineSeconds);
        await team.Maintainer.Put($"projects/{project.Id}", new { merge_method = "ff" });
        var ci = $"stages: [test]\ntest:\n  stage: test\n  script:\n    - sleep {pipelineSeconds.ToString(CultureInfo.InvariantCulture)}\n" +
                 "    - if [ -d breaks ]; then echo 'broken by a change in this pipeline'; exit 1; fi\n";
        await team.Maintainer.Post($"projects/{project.Id}/repository/commits", new
        {
            branch = "main", commit_message = "ci: breakable",
            actions = new[] { new { action = "update", file_path = ".gitlab-ci.yml", content = ci } },
        });
        return project;
    }

    private static async Task<long> OpenAsync(Team team, long project, string branch, bool breaks)
    {
        var path = breaks ? $"breaks/{branch}.md" : $"changes/{branch}.md";
        await team.Developer.Post($"projects/{project}/repository/commits", new
        {
            branch, start_branch = "main", commit_message = $"docs: {branch}",
            actions = new[] { new { action = "create", file_path = path, content = $"{branch}\n" } },
        });
        var mr = await team.Developer.Post($"projects/{project}/merge_requests", new { source_branch = branch, target_branch = "main", title = $"docs: {branch}" });
        return mr["iid"]!.GetValue<long>();
    }
}
