using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Persistence;
using Orchestrator.Workflow;

namespace Orchestrator.Api.Webhooks;

/// <summary>
/// Hands a GitLab event to the grain it concerns. Every call here is a quick grain command (decide and append)
/// or a poke; none waits on GitLab or CI. Events about nothing we track are acknowledged and ignored.
/// </summary>
public sealed class WebhookRouter(IGrainFactory grains, PipelineWatches watches, PolicyStore policies, IOptions<OrchestratorOptions> options,
    Adapters.IGitLabClient gitlab)
{
    public async Task<string> RouteAsync(string eventName, long project, JsonNode payload, CancellationToken ct) => eventName switch
    {
        "Pipeline Hook" => await PipelineAsync(project, payload, ct),
        "Job Hook" => await JobAsync(project, payload, ct),
        "Push Hook" => await PushAsync(project, payload),
        "Merge Request Hook" => await MergeRequestAsync(project, payload, ct),
        "Note Hook" => await NoteAsync(project, payload, ct),
        _ => "ignored: not an event the orchestrator follows",
    };

    private async Task<string> PipelineAsync(long project, JsonNode payload, CancellationToken ct)
    {
        var attributes = payload["object_attributes"];
        if (attributes?["id"]?.GetValue<long>() is not { } pipeline || attributes["status"]?.GetValue<string>() is not { } status)
            return "ignored: no pipeline id or status";
        if (await watches.FindAsync(project, pipeline, ct) is not { } key) return "ignored: not a pipeline the orchestrator waits on";
        var outcome = await Grain(key).ObservePipeline(pipeline, status);
        return outcome.EventsRecorded > 0 ? $"recorded for {key}" : $"nothing new for {key}";
    }

    private async Task<string> JobAsync(long project, JsonNode payload, CancellationToken ct)
    {
        if (payload["pipeline_id"]?.GetValue<long>() is not { } pipeline) return "ignored: no pipeline id";
        if (await watches.FindAsync(project, pipeline, ct) is not { } key) return "ignored: not a pipeline the orchestrator waits on";
        await Grain(key).Poke();
        return $"poked {key}";
    }

    private async Task<string> PushAsync(long project, JsonNode payload)
    {
        if (payload["ref"]?.GetValue<string>() is not { } reference || !reference.StartsWith("refs/heads/")) return "ignored: not a branch";
        var queue = await grains.GetGrain<IMergeQueueGrain>(new MergeQueueKey(project, reference["refs/heads/".Length..]).ToString()).Get();
        if (queue.Holder is not { } holder) return "ignored: no merge request holds that branch";
        // The target moved under the merge request that holds it: let it look now rather than at the next poll.
        await Grain(new MergeRequestKey(project, holder)).Poke();
        return $"poked !{holder}";
    }

    private async Task<string> MergeRequestAsync(long project, JsonNode payload, CancellationToken ct)
    {
        var attributes = payload["object_attributes"];
        if (attributes?["iid"]?.GetValue<long>() is not { } iid) return "ignored: no iid";
        var target = attributes["target_project_id"]?.GetValue<long>() ?? project;
        var key = new MergeRequestKey(target, iid);
        var bot = options.Value.GitLab.BotUsername;
        var by = payload["user"]?["username"]?.GetValue<string>() ?? "gitlab";
        var action = attributes["action"]?.GetValue<string>();
        var assignees = Usernames(payload["assignees"]);
        var assignment = payload["changes"]?["assignees"];
        var wasAssigned = Usernames(assignment?["previous"]).Contains(bot);
        var isAssigned = assignment is null ? assignees.Contains(bot) : Usernames(assignment["current"]).Contains(bot);
        if (assignment is not null && wasAssigned && !isAssigned)
        {
            var cancelled = await Grain(key).Cancel(by, $"{by} unassigned {bot}");
            return cancelled.EventsRecorded > 0 ? $"cancelled {key}" : $"nothing to cancel for {key}";
        }
        var policy = await policies.GetAsync(target, ct);
        var labels = (payload["labels"]?.AsArray() ?? []).Select(l => l?["title"]?.GetValue<string>()).ToHashSet();
        var labelAdded = policy.TriggerLabel is { } trigger && labels.Contains(trigger)
            && (action == "open" || !(payload["changes"]?["labels"]?["previous"]?.AsArray() ?? []).Any(l => l?["title"]?.GetValue<string>() == trigger));
        var newlyAssigned = isAssigned && (action is "open" or "reopen" || (assignment is not null && !wasAssigned));
        if (action is not ("close" or "merge") && (newlyAssigned || labelAdded))
        {
            var enqueued = await Grain(key).Enqueue(new Requester(TriggerKind.Assignment, by, payload["user"]?["id"]?.GetValue<long>()));
            return enqueued.EventsRecorded > 0 ? $"enqueued {key}" : $"{key} already requested";
        }
        await Grain(key).Poke();
        return $"poked {key}";
    }

    private async Task<string> NoteAsync(long project, JsonNode payload, CancellationToken ct)
    {
        if (payload["object_attributes"]?["noteable_type"]?.GetValue<string>() != "MergeRequest") return "ignored: not a merge request note";
        var body = payload["object_attributes"]?["note"]?.GetValue<string>()?.Trim() ?? "";
        var bot = options.Value.GitLab.BotUsername;
        if (!(body.StartsWith("/merge", StringComparison.Ordinal) || body.StartsWith($"@{bot} merge", StringComparison.OrdinalIgnoreCase)))
            return "ignored: no merge command";
        var mr = payload["merge_request"];
        if (mr?["iid"]?.GetValue<long>() is not { } iid) return "ignored: no merge request";
        var target = mr["target_project_id"]?.GetValue<long>() ?? project;
        var author = payload["user"]?["username"]?.GetValue<string>() ?? "";
        var authorId = payload["user"]?["id"]?.GetValue<long>() ?? payload["object_attributes"]?["author_id"]?.GetValue<long>();
        var policy = await policies.GetAsync(target, ct);
        if (!await MayCommandAsync(policy, target, author, authorId, ct)) return $"ignored: {author} may not command merges";
        var outcome = await Grain(new MergeRequestKey(target, iid)).Enqueue(new Requester(TriggerKind.Note, author, authorId));
        return outcome.EventsRecorded > 0 ? $"enqueued {target}/{iid}" : $"{target}/{iid} already requested";
    }

    private static readonly Dictionary<string, int> Levels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["developer"] = 30, ["maintainer"] = 40, ["owner"] = 50,
    };

    /// <summary>A listed username, or a member at the listed minimum access level (asked of GitLab only when levels are listed).</summary>
    private async Task<bool> MayCommandAsync(ProjectPolicy policy, long project, string author, long? authorId, CancellationToken ct)
    {
        if (policy.AllowedCommanders.Contains(author, StringComparer.OrdinalIgnoreCase)) return true;
        var minimum = policy.AllowedCommanders.Where(Levels.ContainsKey).Select(l => Levels[l]).DefaultIfEmpty(int.MaxValue).Min();
        if (minimum == int.MaxValue || authorId is null || string.IsNullOrEmpty(options.Value.GitLab.BaseUrl)) return false;
        return await gitlab.AccessLevelAsync(project, authorId.Value, ct) >= minimum;
    }

    private static HashSet<string> Usernames(JsonNode? users) =>
        [.. (users as JsonArray ?? []).Select(u => u?["username"]?.GetValue<string>()).OfType<string>()];

    private IMergeRequestGrain Grain(MergeRequestKey key) => grains.GetGrain<IMergeRequestGrain>(key.ToString());
}
