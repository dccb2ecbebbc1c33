using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;

namespace Orchestrator.Workflow;

/// <summary>
/// Webhooks get lost. At start and then periodically, the open merge requests assigned to the bot (or carrying
/// the policy's trigger label) in every configured project are looked up, and those the orchestrator has never
/// seen are enqueued — as marge-bot finds its work, without depending on it.
/// </summary>
public sealed class Reconciliation(IGitLabClient gitlab, IGrainFactory grains, IDocumentStore store, PolicyStore policies,
    IOptions<OrchestratorOptions> options, ILogger<Reconciliation> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (string.IsNullOrEmpty(o.GitLab.BaseUrl) || o.Workflow.ReconcileInterval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(o.Workflow.ReconcileInterval);
        do
        {
            try
            {
                var enqueued = await ReconcileAsync(stoppingToken);
                if (enqueued > 0) logger.LogInformation("Reconciliation enqueued {Count} merge request(s) no webhook announced", enqueued);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Reconciliation failed; trying again at the next period");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> ReconcileAsync(CancellationToken ct)
    {
        var enqueued = 0;
        foreach (var project in await ProjectsAsync(ct))
        {
            var policy = await policies.GetAsync(project, ct);
            var candidates = (await gitlab.ListOpenMergeRequestsAsync(project, options.Value.GitLab.BotUsername, null, ct)).ToList();
            if (policy.TriggerLabel is { } label) candidates.AddRange(await gitlab.ListOpenMergeRequestsAsync(project, null, label, ct));
            foreach (var mr in candidates.DistinctBy(m => m.Iid))
            {
                var grain = grains.GetGrain<IMergeRequestGrain>(new MergeRequestKey(project, mr.Iid).ToString());
                var known = await grain.GetSnapshot();
                if (known.Workflow.IsActive) continue;
                var (requester, triggeredAt) = await RequesterAsync(project, mr, policy, ct);
                // The unknown, and an ended one asked for again since (its webhook lost): never an old trigger left on.
                if (known.Version > 0 && !TriggerHistory.AskedAgain(triggeredAt, known.Workflow)) continue;
                // The head the listing showed: the nearest look at what was asked for (a push after it is not the requester's).
                if ((await grain.Enqueue(requester, head: RequestedHead.From(mr.Sha, RequestedHead.Reconciliation))).EventsRecorded > 0) enqueued++;
            }
        }
        return enqueued;
    }

    /// <summary>
    /// The person who put the merge request in the bot's hands, from GitLab's own records; when no one can be named
    /// the request still goes to the grain, which refuses it (fail closed) and says so on the merge request.
    /// </summary>
    /// <remarks>With when the trigger was set, as GitLab recorded it (null: not recorded).</remarks>
    private async Task<(Requester Requester, DateTimeOffset? At)> RequesterAsync(long project, GitLabMergeRequest mr, ProjectPolicy policy, CancellationToken ct)
    {
        var bot = options.Value.GitLab.BotUsername;
        if ((mr.Assignees ?? []).Any(a => string.Equals(a.Username, bot, StringComparison.OrdinalIgnoreCase)))
        {
            var notes = (await gitlab.ListNotesAsync(project, mr.Iid, ct)).Select(n => new HistoryNote(n.Body, n.Author.Username, n.Author.Id, n.System, n.CreatedAt)).ToList();
            return (TriggerHistory.Assigner(notes, bot, mr.Author.Username, mr.Author.Id)
                ?? new Requester(TriggerKind.ReconciledAssignment, null, null, "no one GitLab names"), TriggerHistory.AssignedAt(notes, bot));
        }
        var label = policy.TriggerLabel ?? "";
        var events = (await gitlab.ListLabelEventsAsync(project, mr.Iid, ct)).Select(e => new LabelEvent(e.Label?.Name, e.Action, e.User?.Username, e.User?.Id, e.CreatedAt)).ToList();
        return (TriggerHistory.Labeller(events, label) ?? new Requester(TriggerKind.ReconciledLabel, null, null, "no one GitLab names"),
            TriggerHistory.LabelledAt(events, label));
    }

    private async Task<IReadOnlySet<long>> ProjectsAsync(CancellationToken ct)
    {
        var o = options.Value;
        var ids = o.Policies.Keys.Concat(o.Webhooks.Projects.Keys).Select(k => long.TryParse(k, out var id) ? id : 0).Where(id => id > 0).ToHashSet();
        await using var session = store.QuerySession();
        foreach (var id in await session.Query<ProjectPolicyDocument>().Select(d => d.Id).ToListAsync(ct)) ids.Add(id);
        return ids;
    }
}
