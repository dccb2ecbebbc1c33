using Microsoft.Extensions.Logging;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;
using Orchestrator.Domain;
using Orchestrator.Persistence;
using Orchestrator.Telemetry;

namespace Orchestrator.Grains;

[LogConsistencyProvider(ProviderName = OrchestratorSilo.LogConsistencyProvider)]
public sealed class MergeRequestGrain(WorkflowJournal journal, TimeProvider clock, ILogger<MergeRequestGrain> logger)
    : JournaledGrain<WorkflowJournalState, IWorkflowEvent>,
      IMergeRequestGrain,
      ICustomStorageInterface<WorkflowJournalState, IWorkflowEvent>
{
    // A conflict means another writer appended first; each retry decides again on fresher state,
    // so a handful of rounds is plenty. More is a bug worth surfacing.
    private const int MaxConflictRounds = 5;

    private MergeRequestKey Key => MergeRequestKey.Parse(this.GetPrimaryKeyString());

    public Task<CommandOutcome> Enqueue(string requestedBy) => Handle(at => new Enqueue(requestedBy, at));

    public Task<CommandOutcome> Cancel(string cancelledBy, string reason) => Handle(at => new Cancel(cancelledBy, reason, at));

    public async Task<WorkflowSnapshot> GetSnapshot()
    {
        await RefreshNow();
        return Snapshot();
    }

    public Task<IReadOnlyList<RecordedEvent>> GetEvents() => journal.ReadRecordedAsync(Key);

    private async Task<CommandOutcome> Handle(Func<DateTimeOffset, WorkflowCommand> command)
    {
        for (var round = 1; ; round++)
        {
            var next = command(clock.GetUtcNow());
            using var activity = OrchestratorTelemetry.Source.StartActivity($"decide {next.GetType().Name}");
            activity?.SetTag("gitlab.project_id", Key.ProjectId);
            activity?.SetTag("gitlab.merge_request_iid", Key.Iid);
            activity?.SetTag("orchestrator.attempt", State.Current.Attempt);
            var decision = WorkflowDecider.Decide(next, State.Current);
            if (decision.IsRejected)
            {
                activity?.SetTag("orchestrator.rejection", decision.Rejection!.Kind.ToString());
                OrchestratorTelemetry.CommandsRejected.Add(1);
            }
            if (decision.IsRejected || decision.Events.Count == 0)
                return new CommandOutcome(Snapshot(), 0, decision.Rejection);
            if (await RaiseConditionalEvents(decision.Events))
            {
                OrchestratorTelemetry.EventsAppended.Add(decision.Events.Count);
                return new CommandOutcome(Snapshot(), decision.Events.Count, null);
            }
            OrchestratorTelemetry.ConcurrencyRetries.Add(1);
            if (round == MaxConflictRounds)
                throw new InvalidOperationException($"merge request {Key}: the stream kept changing under {round} decisions");
            logger.LogInformation("Merge request {MergeRequest}: stream moved on to version {Version}; deciding again", Key, Version);
            await RefreshNow();
        }
    }

    private WorkflowSnapshot Snapshot() => new(Version, State.Current);

    protected override void TransitionState(WorkflowJournalState state, IWorkflowEvent @event) =>
        state.Current = WorkflowEvolver.Evolve(state.Current, @event);

    public async Task<KeyValuePair<int, WorkflowJournalState>> ReadStateFromStorage()
    {
        var (version, events) = await journal.ReadAsync(Key);
        return new(version, new WorkflowJournalState { Current = WorkflowEvolver.Fold(events) });
    }

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<IWorkflowEvent> updates, int expectedVersion) =>
        journal.AppendAsync(Key, expectedVersion, updates);
}
