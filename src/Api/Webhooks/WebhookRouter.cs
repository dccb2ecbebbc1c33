using Orchestrator.Api.Webhooks.Payloads;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Microsoft.Extensions.Options;

namespace Orchestrator.Api.Webhooks;

/// <summary>
/// Hands a GitLab event to the grain it concerns. Every call here is a quick grain command (decide and append)
/// or a poke; none asks GitLab anything (the grain checks the requester's rights with GitLab before acting).
/// Events about nothing we track are acknowledged and ignored. Only the signing project is ever acted on.
/// </summary>
public sealed class WebhookRouter(IGrainFactory grains, PipelineWatches watches, PolicyStore policies, IOptions<OrchestratorOptions> options)
{
    public async Task<string> RouteAsync(WebhookEvent hook, CancellationToken ct) => hook switch
    {
        PipelineHook pipeline => await PipelineAsync(pipeline, ct),
        JobHook job => await JobAsync(job, ct),
        PushHook push => await PushAsync(push),
        MergeRequestHook mr => await MergeRequestAsync(mr, ct),
        NoteHook note => await NoteAsync(note, ct),
        _ => "ignored: not an event the orchestrator follows",
    };

    private async Task<string> PipelineAsync(PipelineHook hook, CancellationToken ct)
    {
        if (await watches.FindAsync(hook.Project, hook.PipelineId, ct) is not { } key) return "ignored: not a pipeline the orchestrator waits on";
        var outcome = await Grain(key).ObservePipeline(hook.PipelineId, hook.Status);
        return outcome.EventsRecorded > 0 ? $"recorded for {key}" : $"nothing new for {key}";
    }

    private async Task<string> JobAsync(JobHook hook, CancellationToken ct)
    {
        if (await watches.FindAsync(hook.Project, hook.PipelineId, ct) is not { } key) return "ignored: not a pipeline the orchestrator waits on";
        await Grain(key).Poke();
        return $"poked {key}";
    }

    private async Task<string> PushAsync(PushHook hook)
    {
        if (hook.Branch is not { } branch) return "ignored: not a branch";
        var queue = await grains.GetGrain<IMergeQueueGrain>(new MergeQueueKey(hook.Project, branch).ToString()).Get();
        if (queue.Holder is not { } holder) return "ignored: no merge request holds that branch";
        // The target moved under the merge request that holds it: let it look now rather than at the next poll.
        await Grain(new MergeRequestKey(hook.Project, holder)).Poke();
        return $"poked !{holder}";
    }

    private async Task<string> MergeRequestAsync(MergeRequestHook hook, CancellationToken ct)
    {
        var key = new MergeRequestKey(hook.Project, hook.Iid);
        var bot = options.Value.GitLab.BotUsername;
        var policy = await policies.GetAsync(hook.Project, ct);
        switch (WhoAsked.FromMergeRequest(hook, bot, policy.TriggerLabel))
        {
            case MergeRequestIntent.Stop stop:
                var cancelled = await Grain(key).Cancel(stop.By, $"{stop.By} unassigned {bot}");
                return cancelled.EventsRecorded > 0 ? $"cancelled {key}" : $"nothing to cancel for {key}";
            case MergeRequestIntent.Merge merge:
                var enqueued = await Grain(key).Enqueue(merge.Requester);
                return enqueued.EventsRecorded > 0 ? $"enqueued {key}" : $"{key} already requested";
            default:
                await Grain(key).Poke();
                return $"poked {key}";
        }
    }

    private async Task<string> NoteAsync(NoteHook hook, CancellationToken ct)
    {
        if (hook.MergeRequest is not { } mr) return "ignored: not a merge request note";
        if (!WhoAsked.IsMergeCommand(hook.Note, options.Value.GitLab.BotUsername)) return "ignored: no merge command";
        // The grain narrows to the listed commanders; a project that lists none takes no commands by note at all.
        if ((await policies.GetAsync(hook.Project, ct)).AllowedCommanders.Count == 0) return "ignored: this project takes no merge commands by note";
        if (WhoAsked.FromNote(hook, options.Value.GitLab.BotUsername) is not { } requester) return "ignored: the note's author did not send it";
        var key = new MergeRequestKey(hook.Project, mr.Iid);
        var outcome = await Grain(key).Enqueue(requester);
        return outcome.EventsRecorded > 0 ? $"enqueued {key}" : $"{key} already requested";
    }

    private IMergeRequestGrain Grain(MergeRequestKey key) => grains.GetGrain<IMergeRequestGrain>(key.ToString());
}
