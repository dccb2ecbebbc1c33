using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Workload;

/// <summary>What the orchestrator recorded for one MR: its outcome, its own times, the pipelines it created.</summary>
public sealed record OrchestratorOutcome(long Project, long Iid, string State, string? Outcome, DateTimeOffset Requested, DateTimeOffset? Ended,
    IReadOnlyList<long> Pipelines, string? MergeCommit, DateTimeOffset? FirstRebase, DateTimeOffset? LastPipelineSeen = null,
    IReadOnlyList<double>? RebaseSeconds = null, DateTimeOffset? LastRebase = null)
{
    /// <summary>From the last rebase's start to the last look at its pipeline: one car's whole cycle before its merge.</summary>
    public double? CycleSeconds => State == "completed" && LastRebase is { } from && LastPipelineSeen is { } seen ? (seen - from).TotalSeconds : null;

    /// <summary>From the last look at a pipeline to the merge: GitLab's part of a landing (checks, mergeability, the merge itself).</summary>
    public double? LandingSeconds => State == "completed" && Ended is { } end && LastPipelineSeen is { } seen ? (end - seen).TotalSeconds : null;

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
        var lastPipeline = events.TakeWhile(e => e != ended).LastOrDefault(e => e!["type"]!.GetValue<string>() == "pipeline_observed");
        // Each rebase, from its start to the head it pushed (GitLab's or our git's): what a car behind it waits for.
        var rebases = new List<double>();
        DateTimeOffset? started = null, lastRebase = null;
        foreach (var e in events)
            switch (e!["type"]!.GetValue<string>())
            {
                case "rebase_started": started = lastRebase = At(e); break;
                case "rebased" when started is { } from: rebases.Add((At(e) - from).TotalSeconds); started = null; break;
            }
        return new OrchestratorOutcome(project, iid, mr["state"]!.GetValue<string>(), mr["outcome"]?.GetValue<string>(), requested,
            ended is null ? null : At(ended), pipelines, mr["mergeCommitSha"]?.GetValue<string>(), rebase is null ? null : At(rebase),
            lastPipeline is null ? null : At(lastPipeline), rebases, lastRebase);
    }
}
