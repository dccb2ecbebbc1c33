using System.Globalization;
using Orchestrator.Api.Webhooks.Payloads;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Microsoft.Extensions.Options;

namespace Orchestrator.Api.Webhooks;

/// <summary>
/// Where a delivery went: what to answer, the stream it touched (null for none), whether it recorded events (its
/// key was then remembered with them), and whether the grain found it applied already.
/// </summary>
public sealed record RoutedDelivery(string Outcome, string? Stream = null, bool Recorded = false, bool Duplicate = false)
{
    public static RoutedDelivery Ignored(string why) => new($"ignored: {why}");

    /// <summary>A grain command's answer; <paramref name="recorded"/> and <paramref name="nothingNew"/> name the key as {0}.</summary>
    public static RoutedDelivery Commanded(MergeRequestKey key, CommandOutcome outcome, string recorded, string nothingNew) =>
        new(string.Format(CultureInfo.InvariantCulture, outcome.EventsRecorded > 0 ? recorded : nothingNew, key), key.StreamKey,
            outcome.EventsRecorded > 0, outcome.Duplicate);
}

/// <summary>
/// Hands a GitLab event to the grain it concerns. Every call here is a quick grain command (decide and append)
/// or a poke; none asks GitLab anything (the grain checks the requester's rights with GitLab before acting).
/// Events about nothing we track are acknowledged and ignored. Only the signing project is ever acted on. The
/// delivery's key goes with every command, so the events it causes and the memory of it are one commit.
/// </summary>
public sealed class WebhookRouter(IGrainFactory grains, IPipelineWatches watches, IPolicyStore policies, IOptions<OrchestratorOptions> options)
{
    public async Task<RoutedDelivery> RouteAsync(WebhookEvent hook, string? delivery, CancellationToken ct) => hook switch
    {
        PipelineHook pipeline => await PipelineAsync(pipeline, delivery, ct),
        JobHook job => await JobAsync(job, ct),
        PushHook push => await PushAsync(push),
        MergeRequestHook mr => await MergeRequestAsync(mr, delivery, ct),
        NoteHook note => await NoteAsync(note, delivery, ct),
        _ => RoutedDelivery.Ignored("not an event the orchestrator follows"),
    };

    private async Task<RoutedDelivery> PipelineAsync(PipelineHook hook, string? delivery, CancellationToken ct)
    {
        if (await watches.FindAsync(hook.Project, hook.PipelineId, ct) is not { } key) return RoutedDelivery.Ignored("not a pipeline the orchestrator waits on");
        return RoutedDelivery.Commanded(key, await Grain(key).ObservePipeline(hook.PipelineId, hook.Status, delivery), "recorded for {0}", "nothing new for {0}");
    }

    private async Task<RoutedDelivery> JobAsync(JobHook hook, CancellationToken ct)
    {
        if (await watches.FindAsync(hook.Project, hook.PipelineId, ct) is not { } key) return RoutedDelivery.Ignored("not a pipeline the orchestrator waits on");
        return await PokeAsync(key, $"poked {key}");
    }

    private async Task<RoutedDelivery> PushAsync(PushHook hook)
    {
        if (hook.Branch is not { } branch) return RoutedDelivery.Ignored("not a branch");
        var queue = await grains.GetGrain<IMergeQueueGrain>(new MergeQueueKey(hook.Project, branch).ToString()).Get();
        if (queue.Holder is not { } holder) return RoutedDelivery.Ignored("no merge request holds that branch");
        // The target moved under the merge request that holds it: let it look now rather than at the next poll.
        return await PokeAsync(new MergeRequestKey(hook.Project, holder), $"poked !{holder}");
    }

    private async Task<RoutedDelivery> MergeRequestAsync(MergeRequestHook hook, string? delivery, CancellationToken ct)
    {
        var key = new MergeRequestKey(hook.Project, hook.Iid);
        var bot = options.Value.GitLab.BotUsername;
        var policy = await policies.GetAsync(hook.Project, ct);
        return WhoAsked.FromMergeRequest(hook, bot, policy.TriggerLabel) switch
        {
            MergeRequestIntent.Stop stop => RoutedDelivery.Commanded(key, await Grain(key).Cancel(stop.By, $"{stop.By} {stop.What}", delivery),
                "cancelled {0}", "nothing to cancel for {0}"),
            MergeRequestIntent.Merge merge => RoutedDelivery.Commanded(key,
                await Grain(key).Enqueue(merge.Requester, delivery, RequestedHead.From(hook.LastCommit, RequestedHead.MergeRequestHook)),
                "enqueued {0}", "{0} already requested"),
            _ => await PokeAsync(key, $"poked {key}"),
        };
    }

    private async Task<RoutedDelivery> NoteAsync(NoteHook hook, string? delivery, CancellationToken ct)
    {
        if (hook.MergeRequest is not { } mr) return RoutedDelivery.Ignored("not a merge request note");
        if (!WhoAsked.IsMergeCommand(hook.Note, options.Value.GitLab.BotUsername)) return RoutedDelivery.Ignored("no merge command");
        // The grain narrows to the listed commanders; a project that lists none takes no commands by note at all.
        if ((await policies.GetAsync(hook.Project, ct)).AllowedCommanders.Count == 0) return RoutedDelivery.Ignored("this project takes no merge commands by note");
        if (WhoAsked.FromNote(hook, options.Value.GitLab.BotUsername) is not { } requester) return RoutedDelivery.Ignored("the note's author did not send it");
        var key = new MergeRequestKey(hook.Project, mr.Iid);
        return RoutedDelivery.Commanded(key, await Grain(key).Enqueue(requester, delivery, RequestedHead.From(mr.LastCommit, RequestedHead.NoteHook)),
            "enqueued {0}", "{0} already requested");
    }

    private async Task<RoutedDelivery> PokeAsync(MergeRequestKey key, string outcome)
    {
        await Grain(key).Poke();
        return new RoutedDelivery(outcome, key.StreamKey);
    }

    // GetGrain<T>(key) resolves the interface's Orleans type from its .NET type on every call, formatting type names anew
    // (3 % of the intake's CPU): taken from the first reference, a merge request's reference is then only its id.
    private sealed record GrainTypes(GrainType Grain, GrainInterfaceType Interface);
    private volatile GrainTypes? mergeRequests;

    private IMergeRequestGrain Grain(MergeRequestKey key)
    {
        if (mergeRequests is { } types) return (IMergeRequestGrain)grains.GetGrain(GrainId.Create(types.Grain, key.ToString()), types.Interface);
        var grain = grains.GetGrain<IMergeRequestGrain>(key.ToString());
        if (grain is GrainReference reference) mergeRequests = new GrainTypes(reference.GrainId.Type, reference.InterfaceType);
        return grain;
    }
}
