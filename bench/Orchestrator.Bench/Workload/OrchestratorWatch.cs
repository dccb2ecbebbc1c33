using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Workload;

/// <summary>What the orchestrator recorded for one MR: its outcome, its own times, the pipelines it created.</summary>
public sealed record OrchestratorOutcome(long Project, long Iid, string State, string? Outcome, DateTimeOffset Requested, DateTimeOffset? Ended,
    IReadOnlyList<long> Pipelines, string? MergeCommit, DateTimeOffset? FirstRebase)
{
    public double Seconds => ((Ended ?? Requested) - Requested).TotalSeconds;
}

/// <summary>Reads the orchestrator's API the way a bot would: the MR's state until it ends, then its events.</summary>
public static class OrchestratorWatch
{
    /// <summary>Whether a workflow state (as the API spells it) is final.</summary>
    public static bool Ended(string state) => Domain.WorkflowStateExtensions.EndedNames.Contains(state);

    /// <summary>Asks for the merge through <paramref name="api"/>: the token decides who the bot acts for.</summary>
    public static async Task EnqueueAsync(Rest api, long project, long iid) =>
        await api.Post($"api/v1/projects/{project}/merge-requests/{iid}/merge", new { requestedBy = "bench" });

    public static async Task<OrchestratorOutcome> WaitAsync(Rest api, long project, long iid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var mr = await api.Get($"api/v1/projects/{project}/merge-requests/{iid}");
            if (Ended(mr["state"]!.GetValue<string>())) return await OutcomeAsync(api, project, iid, mr);
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{project}/{iid} is still {mr["state"]} after {timeout}");
            await Task.Delay(100);
        }
    }

    /// <summary>The last attempt, from the stream: requested and ended at (the orchestrator's own clock), pipelines created.</summary>
    public static async Task<OrchestratorOutcome> OutcomeAsync(Rest api, long project, long iid, JsonNode? mr = null)
    {
        mr ??= await api.Get($"api/v1/projects/{project}/merge-requests/{iid}");
        var attempt = mr["attempt"]!.GetValue<int>();
        var events = (await api.Get($"api/v1/projects/{project}/merge-requests/{iid}/events")).AsArray()
            .Where(e => e!["data"]!["attempt"]?.GetValue<int>() == attempt).ToList();
        DateTimeOffset At(JsonNode e) => DateTimeOffset.Parse(e["at"]!.GetValue<string>());
        var requested = At(events.First(e => e!["type"]!.GetValue<string>() == "merge_requested")!);
        var ended = events.FirstOrDefault(e => e!["type"]!.GetValue<string>() is "merged" or "attempt_failed" or "attempt_cancelled" or "request_refused");
        var pipelines = events.Where(e => e!["type"]!.GetValue<string>() == "pipeline_created").Select(e => e!["data"]!["pipelineId"]!.GetValue<long>()).ToList();
        var rebase = events.FirstOrDefault(e => e!["type"]!.GetValue<string>() == "rebase_started");
        return new OrchestratorOutcome(project, iid, mr["state"]!.GetValue<string>(), mr["outcome"]?.GetValue<string>(), requested,
            ended is null ? null : At(ended), pipelines, mr["mergeCommitSha"]?.GetValue<string>(), rebase is null ? null : At(rebase));
    }
}
