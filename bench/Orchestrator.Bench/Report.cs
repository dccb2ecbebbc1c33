using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Bench;

/// <summary>Gathers the sections' figures with the machine's description into one JSON document, and prints them as a table.</summary>
public static class Report
{
    public static async Task WriteAsync(string parts, string output)
    {
        var report = new JsonObject
        {
            ["machine"] = new JsonObject
            {
                ["cores"] = Environment.ProcessorCount,
                ["memory_gib"] = Math.Round(MemoryKib() / 1024.0 / 1024.0, 1),
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                ["dotnet"] = Environment.Version.ToString(),
            },
            ["commit"] = Environment.GetEnvironmentVariable("BENCH_COMMIT") ?? "unknown",
            ["size"] = Environment.GetEnvironmentVariable("BENCH_SIZE") ?? "default",
            ["at"] = DateTimeOffset.UtcNow.ToString("O"),
        };
        foreach (var file in Directory.GetFiles(parts, "*.json").Order())
            report[Path.GetFileNameWithoutExtension(file)] = JsonNode.Parse(await File.ReadAllTextAsync(file));
        await File.WriteAllTextAsync(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Print(report);
        Console.WriteLine($"\nJSON: {output}");
    }

    private static long MemoryKib() =>
        File.ReadLines("/proc/meminfo").Where(l => l.StartsWith("MemTotal:")).Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).First();

    private static string F(JsonNode? n, string format = "0.##") =>
        n is null ? "—" : n.GetValueKind() == JsonValueKind.Number ? n.GetValue<double>().ToString(format, CultureInfo.InvariantCulture) : n.ToString();

    private static void Row(string name, params string[] cells) =>
        Console.WriteLine($"  {name,-34}" + string.Concat(cells.Select(c => $"{c,16}")));

    private static void Print(JsonObject r)
    {
        var m = r["machine"]!;
        Console.WriteLine($"Orchestrator benchmark — commit {r["commit"]}, {m["cores"]} cores, {F(m["memory_gib"])} GiB, size {r["size"]}");
        if (r["overhead"] is { } o)
        {
            Console.WriteLine($"\n1. Overhead per MR: time added on top of CI ({o["mrs_per_side"]} MRs per side, pipeline = sleep {o["pipeline_sleep_s"]} s)");
            Row("", "orchestrator", "marge-style", "ratio");
            foreach (var stat in new[] { "median", "p95", "mean" })
                Row($"{stat} (s)", F(o["orchestrator_overhead_s"]![stat]), F(o["baseline_overhead_s"]![stat]),
                    stat == "median" ? F(o["ratio_median_baseline_over_orchestrator"]) + "×" : "");
        }
        if (r["trains"] is { } t)
        {
            Console.WriteLine($"\n7. Merge train (depth {t["depth"]}) vs serial: {t["mrs_per_side"]} MRs each, {F(t["failing_share"])} failing, " +
                $"pipeline = sleep {t["pipeline_sleep_s"]} s (wall {F(t["pipeline_wall_s"])} s), overhead per car {F(t["overhead_per_car_s"]!["merge_train"])} / {F(t["overhead_per_car_s"]!["serial"])} s, " +
                $"landing {F(t["landing_s"]!["merge"])} s alone, {F(t["landing_s"]!["chained"])} s behind a merge, hand-over {F(t["landing_s"]!["handover"])} s (both sides at once)");
            Row("", "merge train", "serial");
            Row("landed / failed", $"{t["merge_train"]!["landed"]} / {t["merge_train"]!["failed"]}", $"{t["serial"]!["landed"]} / {t["serial"]!["failed"]}");
            Row("landings per hour", F(t["merge_train"]!["landings_per_hour"], "0"), F(t["serial"]!["landings_per_hour"], "0"));
            Row("  between first and last landing", F(t["merge_train"]!["steady_landings_per_hour"], "0"), F(t["serial"]!["steady_landings_per_hour"], "0"));
            Row("simulator's prediction (per hour)", F(t["merge_train"]!["simulator_landings_per_hour"], "0"), F(t["serial"]!["simulator_landings_per_hour"], "0"));
            Row("measured / simulated", F(t["merge_train"]!["measured_over_simulated"]), F(t["serial"]!["measured_over_simulated"]));
            Row("pipelines per landed MR (simulated)", $"{F(t["merge_train"]!["pipelines_per_landed"])} ({F(t["merge_train"]!["simulator_pipelines_per_landed"])})",
                $"{F(t["serial"]!["pipelines_per_landed"])} ({F(t["serial"]!["simulator_pipelines_per_landed"])})");
            Row("gap between landings (median s)", F(t["merge_train"]!["landing_gap_s"]?["median"]), F(t["serial"]!["landing_gap_s"]?["median"]));
            Row("train / serial", F(t["train_over_serial"]) + "×");
        }
        if (r["scale"] is { } s)
        {
            Console.WriteLine($"\n2. Scale: {s["projects"]} projects × {s["mrs_per_project"]} MRs at once (pipeline = sleep {s["pipeline_sleep_s"]} s)");
            Row("merged / failed", $"{s["merged"]} / {s["failed"]}");
            Row("wall time to land all (s)", F(s["wall_s"]));
            Row("ideal: longest project serial (s)", F(s["ideal_s"]));
            Row("wall / ideal", F(s["wall_over_ideal"]) + "×");
            Row("serial floor: + 1 rebase per MR (s)", F(s["serial_floor_s"]), F(s["wall_over_serial_floor"]) + "×");
            Row($"CPU floor: CPU used / {s["cores"]} cores (s)", F(s["cpu_floor_s"]));
            Row("wall / the higher floor", F(s["wall_over_floor"]) + "×");
            Row("MRs landed per hour", F(s["mrs_per_hour"], "0"));
            Row("peak grain activations", F(s["peak_activations"], "0"));
            Row("silo memory RSS / peak (MiB)", $"{F(s["silo_rss_mib"], "0")} / {F(s["silo_peak_rss_mib"], "0")}");
            Row("per MR: pipeline wall (median s)", F(s["pipeline_wall_s"]?["median"]));
            Row("per MR: held the branch (median s)", F(s["held_branch_s"]?["median"]));
            Row("branch hand-over (median / p95 s)", $"{F(s["handover_s"]?["median"])} / {F(s["handover_s"]?["p95"])}");
            Row("sandbox GitLab read (median / p95 ms)", $"{F(s["gitlab_read_ms"]?["median"], "0")} / {F(s["gitlab_read_ms"]?["p95"], "0")}");
            // The costliest steps of holding a branch, between two of the orchestrator's events (median / p95 s, count).
            foreach (var (step, stats) in (s["steps_s"] as JsonObject ?? []).Take(6))
                Row($"  step {step}", $"{F(stats!["median"])} / {F(stats["p95"])} s", $"×{F(stats["count"], "0")}");
            Row("CPU s per MR: silo / sandbox", $"{F(s["silo_cpu_s_per_mr"], "0.000")} / {F(s["sandbox_cpu_s_per_mr"], "0.000")}");
            Row("  sandbox's git and CI processes", F(s["sandbox_processes_cpu_s_per_mr"], "0.000"));
            Row("PostgreSQL bytes per MR", F(s["pg_bytes_per_mr"], "0"));
            Row("events per MR (permission checks)", $"{F(s["events_per_mr"], "0.#")} ({F(s["permission_checks_per_mr"], "0.#")})");
        }
        if (r["economy"] is { } e)
        {
            Console.WriteLine($"\n3. Rebuild economy: {e["rounds"]} round(s) of the seeded incident ({e["history_per_round"]})");
            Row("", "orchestrator", "never force", "always force");
            foreach (var (label, key) in new[] { ("image builds run", "image_builds"), ("  of which post-merge", "post_merge_builds"),
                         ("builds avoided (tested image reused)", "builds_avoided_by_promotion"), ("post-merge breakages", "post_merge_breakages"),
                         ("merged", "merged"), ("merge requests asked", "merge_requests_asked") })
                Row(label, F(e["orchestrator"]?[key], "0"), F(e["never-force"]?[key], "0"), F(e["always-force"]?[key], "0"));
        }
        if (r["sandbox_hooks"] is { } h)
            Console.WriteLine($"\nWebhooks from the sandbox during 1–3 (each project its own secret): {h["accepted"]} accepted, {h["refused"]} refused, {h["failed"]} failed");
        if (r["eventstore"] is { } es)
        {
            Console.WriteLine($"\n4. Event store (PostgreSQL, Marten)");
            Row("appends/s (one writer)", F(es["appends_per_s"], "0"));
            Row("append p50 / p99 (ms)", $"{F(es["append_p50_ms"])} / {F(es["append_p99_ms"])}");
            foreach (var replay in es["replay"]!.AsArray())
                Row($"replay {replay!["events"]} events (ms, µs/event)", $"{F(replay["median_ms"])}", $"{F(replay["us_per_event"], "0.0")}");
        }
        // One section per load (bench/run.sh measures the intake at 16 and at 64 connections).
        foreach (var w in r.Where(s => s.Key.StartsWith("webhooks", StringComparison.Ordinal)).Select(s => s.Value!))
        {
            Console.WriteLine($"\n5. Webhook intake (wrk on loopback, {w["connections"]} connections, {w["seconds"]} s)");
            Row("", "orchestrator", "bare endpoint");
            Row("requests/s", F(w["orchestrator"]!["rps"], "0"), F(w["ceiling"]!["rps"], "0"));
            Row("p50 (ms)", F(w["orchestrator"]!["p50_ms"]), F(w["ceiling"]!["p50_ms"]));
            Row("p99 (ms)", F(w["orchestrator"]!["p99_ms"]), F(w["ceiling"]!["p99_ms"]));
            Row("non-2xx / errors", $"{w["orchestrator"]!["non_2xx"]} / {w["orchestrator"]!["errors"]}", $"{w["ceiling"]!["non_2xx"]} / {w["ceiling"]!["errors"]}");
            Row("lost (2xx but not applied)", F(w["orchestrator"]!["lost"], "0"), F(w["ceiling"]!["lost"], "0"));
            Row("double-applied", F(w["orchestrator"]!["double_applied"], "0"), F(w["ceiling"]!["double_applied"], "0"));
            Row("orchestrator / ceiling (rps)", F(w["orchestrator_over_ceiling"], "0.00"));
            if (w["replay_of_seen_keys"] is { } replay)
                Row("replay of applied keys: answered applied / new", $"{replay["answered_applied"]} / {replay["new_merge_requests"]}");
        }
        if (r["resume"] is { } rs)
        {
            Console.WriteLine($"\n6. Resume after a restart ({rs["rounds"]} kill and start, default settings)");
            Row("", "median", "max");
            Row("process start → healthy (s)", F(rs["start_to_healthy_s"]!["median"]), F(rs["start_to_healthy_s"]!["max"]));
            Row("start → first GitLab call (s)", F(rs["start_to_first_gitlab_call_s"]!["median"]), F(rs["start_to_first_gitlab_call_s"]!["max"]));
        }
    }
}
