using System.Diagnostics;
using System.Net;
using Orchestrator.Bench.Workload;

namespace Orchestrator.Bench.Baseline;

/// <summary>What the baseline did with one MR: merged or why not, its own wall time, and the pipelines it waited on.</summary>
public sealed record BaselineOutcome(long Iid, bool Merged, string Reason, double Seconds, IReadOnlyList<(long Project, long Pipeline)> Pipelines, string? MergeCommit);

/// <summary>
/// The baseline: one MR at a time as marge-bot works (rebase through GitLab's API, wait for the pipeline of that
/// exact SHA polling every <c>ciPoll</c> — marge's 10 s — then accept with <c>sha=</c>, rebasing again when GitLab
/// says the target moved). Stateless, no webhooks, no image checks: ci-templates decide what is rebuilt.
/// </summary>
public sealed class MargeStyleBot(Rest gitlab, TimeSpan ciPoll, TimeSpan stepPoll)
{
    public async Task<BaselineOutcome> MergeAsync(long project, long iid, int maxRebases = 3)
    {
        var clock = Stopwatch.StartNew();
        var pipelines = new List<(long, long)>();
        for (var rebase = 0; rebase <= maxRebases; rebase++)
        {
            var rebased = await gitlab.PutRaw($"projects/{project}/merge_requests/{iid}/rebase");
            if (!rebased.IsSuccessStatusCode) return new(iid, false, $"rebase refused ({(int)rebased.StatusCode})", clock.Elapsed.TotalSeconds, pipelines, null);
            var mr = await gitlab.Get($"projects/{project}/merge_requests/{iid}?include_rebase_in_progress=true");
            while (mr["rebase_in_progress"]?.GetValue<bool>() == true)
            {
                await Task.Delay(stepPoll);
                mr = await gitlab.Get($"projects/{project}/merge_requests/{iid}?include_rebase_in_progress=true");
            }
            if (mr["merge_error"]?.GetValue<string>() is { Length: > 0 } error) return new(iid, false, $"Merge conflict: {error}", clock.Elapsed.TotalSeconds, pipelines, null);
            var sha = mr["sha"]!.GetValue<string>();
            var source = mr["source_project_id"]!.GetValue<long>();
            var branch = Uri.EscapeDataString(mr["source_branch"]!.GetValue<string>());

            // marge: look, and if CI has not finished, sleep its interval and look again.
            string status;
            long pipeline;
            while (true)
            {
                var list = (await gitlab.Get($"projects/{source}/pipelines?ref={branch}&sha={sha}")).AsArray();
                if (list.Count > 0 && list[0]!["status"]!.GetValue<string>() is "success" or "failed" or "canceled" or "skipped")
                {
                    (status, pipeline) = (list[0]!["status"]!.GetValue<string>(), list[0]!["id"]!.GetValue<long>());
                    break;
                }
                await Task.Delay(ciPoll);
            }
            pipelines.Add((source, pipeline));
            if (status != "success") return new(iid, false, status == "canceled" ? "Someone canceled the CI." : "CI failed!", clock.Elapsed.TotalSeconds, pipelines, null);

            for (var tries = 0; tries < 120; tries++)
            {
                var merge = await gitlab.PutRaw($"projects/{project}/merge_requests/{iid}/merge", new { sha });
                if (merge.IsSuccessStatusCode)
                {
                    var merged = System.Text.Json.Nodes.JsonNode.Parse(await merge.Content.ReadAsStringAsync())!;
                    return new(iid, true, "merged", clock.Elapsed.TotalSeconds, pipelines, merged["merge_commit_sha"]?.GetValue<string>());
                }
                // GitLab computes mergeability after the rebase; 405 "checking" clears by itself. A moved target
                // (need_rebase, 409 sha mismatch, 422) sends marge back to rebase.
                var detailed = (await gitlab.Get($"projects/{project}/merge_requests/{iid}"))["detailed_merge_status"]?.GetValue<string>();
                if (merge.StatusCode == HttpStatusCode.MethodNotAllowed && detailed is "checking" or "unchecked")
                {
                    await Task.Delay(stepPoll);
                    continue;
                }
                if (merge.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity || detailed == "need_rebase") break;
                return new(iid, false, $"merge refused ({(int)merge.StatusCode}, {detailed})", clock.Elapsed.TotalSeconds, pipelines, null);
            }
        }
        return new(iid, false, "the target kept moving", clock.Elapsed.TotalSeconds, pipelines, null);
    }
}
