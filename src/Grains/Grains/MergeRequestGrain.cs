using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;
using Orchestrator.Domain;
using Orchestrator.Persistence;
using Orchestrator.Hosting;
using Orchestrator.Telemetry;
using Orchestrator.Workflow;

namespace Orchestrator.Grains;

// Activated where the request arrived (the API and webhooks are co-hosted), so losing a silo loses its grains' work in flight only.
[Orleans.Placement.PreferLocalPlacement]
[LogConsistencyProvider(ProviderName = OrchestratorSilo.LogConsistencyProvider)]
public sealed class MergeRequestGrain(WorkflowJournal journal, TimeProvider clock, ILogger<MergeRequestGrain> logger,
    IOptions<OrchestratorOptions> options, IServiceProvider services)
    : JournaledGrain<WorkflowJournalState, IWorkflowEvent>,
      IMergeRequestGrain,
      ICustomStorageInterface<WorkflowJournalState, IWorkflowEvent>,
      IRemindable
{
    private const string WakeUp = "advance";
    private readonly StepMemo memo = new();
    private IGrainTimer? poll;

    // With no GitLab configured the grain only records requests (the foundation's API and its tests).
    private bool Drives => !string.IsNullOrEmpty(options.Value.GitLab.BaseUrl);
    // A conflict means another writer appended first; each retry decides again on fresher state,
    // so a handful of rounds is plenty. More is a bug worth surfacing.
    private const int MaxConflictRounds = 5;
    private const int MaxUnhealable = 3;

    /// <summary>Why an error will not heal by retrying, or null when it may (5xx, timeouts, 429, a 409 race).</summary>
    private static string? Unhealable(Exception e) => e switch
    {
        Adapters.GitLabException { Status: 400 or 403 or 404 or 405 or 422 } g => $"GitLab refused the request ({g.Status}): {g.GitLabMessage}",
        Adapters.RegistryException { Status: System.Net.HttpStatusCode.BadRequest or System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.NotFound } r
            => $"the registry refused the request ({(int)r.Status}): {r.Message}",
        _ => null,
    };

    private MergeRequestKey Key => MergeRequestKey.Parse(this.GetPrimaryKeyString());

    public async Task<CommandOutcome> Enqueue(Requester requester, string? delivery = null) =>
        await Driven(await Handle(at => new Enqueue(requester.ToString(), at, requester), delivery));

    public async Task<CommandOutcome> Cancel(string cancelledBy, string reason, string? delivery = null) =>
        await Driven(await Handle(at => new Cancel(cancelledBy, reason, at), delivery));

    public async Task<CommandOutcome> ObservePipeline(long pipelineId, string status, string? delivery = null) =>
        await Driven(await Handle(at => new Domain.ObservePipeline(pipelineId, status, at), delivery));

    public Task Poke()
    {
        // Never awaits GitLab: the webhook that pokes must answer within milliseconds.
        if (NeedsWork(State.Current))
        {
            StartPolling();
            poll!.Change(TimeSpan.Zero, options.Value.Workflow.PollInterval);
        }
        return Task.CompletedTask;
    }

    public async Task<ReplayView> Replay()
    {
        var (_, events) = await journal.ReadAsync(Key);
        var report = WorkflowReplay.Run(events);
        static string Name(IWorkflowEvent e) => WorkflowEventNames.NameOf(e);
        return new ReplayView(report.Consistent, report.State.State.ToWireName(), report.State.Attempt,
            [.. report.Decisions.Select(d => new ReplayedDecisionView(d.Version, d.Command,
                System.Text.Json.JsonSerializer.Serialize(d.Inputs, d.Inputs.GetType()),
                [.. d.Recorded.Select(Name)], [.. d.Decided.Select(Name)], d.Same))]);
    }

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        await base.OnActivateAsync(ct);
        if (NeedsWork(State.Current)) StartPolling();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The durable wake-up after a restart: activation has already resumed polling if there is work.
        if (!NeedsWork(State.Current) && await this.GetReminder(WakeUp) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private async Task<CommandOutcome> Driven(CommandOutcome outcome)
    {
        if (outcome.EventsRecorded > 0 && NeedsWork(State.Current))
        {
            StartPolling();
            if (await this.GetReminder(WakeUp) is null)
                await this.RegisterOrUpdateReminder(WakeUp, options.Value.Workflow.ReminderPeriod, options.Value.Workflow.ReminderPeriod);
        }
        return outcome;
    }

    private bool NeedsWork(MergeRequestWorkflow s) =>
        Drives && (s.IsActive || (s.State != WorkflowState.None && (s.OutcomeNoteId is null
            || (s.State != WorkflowState.Completed && (s.Promotions.Count > 0 || s.PendingCleanup.Count > 0)))));

    private void StartPolling() =>
        poll ??= this.RegisterGrainTimer(AdvanceAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero, Period = options.Value.Workflow.PollInterval, Interleave = false,
        });

    /// <summary>Decide, record, perform the next effect, feed its result back — until the workflow has to wait.</summary>
    private async Task AdvanceAsync(CancellationToken ct)
    {
        var driver = services.GetRequiredService<WorkflowDriver>();
        var policies = services.GetRequiredService<PolicyStore>();
        ProjectPolicy policy;
        try
        {
            policy = await policies.GetAsync(Key.ProjectId, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Merge request {MergeRequest}: policy unreadable; retrying at the next poll", Key);
            return;
        }
        for (var step = 0; step < 50; step++)
        {
            var state = State.Current;
            StepResult result;
            try
            {
                using var activity = OrchestratorTelemetry.Source.StartActivity($"step {state.State.ToWireName()}", ActivityKind.Internal,
                    OrchestratorTelemetry.AttemptContext(Key.ToString(), state.Attempt));
                activity?.SetTag("gitlab.project_id", Key.ProjectId);
                activity?.SetTag("gitlab.merge_request_iid", Key.Iid);
                activity?.SetTag("orchestrator.attempt", state.Attempt);
                activity?.SetTag("orchestrator.step", state.State.ToWireName());
                result = await driver.StepAsync(Key, state, policy, clock.GetUtcNow(), memo, ct);
            }
            catch (Exception e) when (state.IsActive && Unhealable(e) is { } reason)
            {
                // An answer no retry changes (a 400 for the CI configuration, a 403, a 404 for what must exist): a few
                // tries in case GitLab was mid-change, then the attempt ends with the reason and the branch is released.
                var seen = memo.Unhealable is { } u && u.Attempt == state.Attempt && u.State == state.State ? u.Count + 1 : 1;
                memo.Unhealable = (state.Attempt, state.State, seen);
                logger.LogWarning("Merge request {MergeRequest}: step {State} refused ({Count} of {Max}): {Reason}", Key, state.State, seen, MaxUnhealable, reason);
                if (seen >= MaxUnhealable) await Handle(at => new Fail(reason, at));
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // GitLab or the registry failed even after retries (5xx, timeouts, 429): try again at the next poll.
                logger.LogWarning(e, "Merge request {MergeRequest}: step {State} failed; retrying at the next poll", Key, state.State);
                return;
            }
            switch (result)
            {
                case StepResult.Decide(var command):
                    var outcome = await Handle(_ => command);
                    if (outcome.Rejection is { } rejection)
                        logger.LogWarning("Merge request {MergeRequest}: {Command} rejected: {Reason}", Key, command.GetType().Name, rejection.Reason);
                    if (outcome.EventsRecorded == 0) return;
                    break;
                case StepResult.Done:
                    poll?.Dispose();
                    poll = null;
                    if (await this.GetReminder(WakeUp) is { } reminder) await this.UnregisterReminder(reminder);
                    return;
                default:
                    return;
            }
        }
    }

    public async Task<WorkflowSnapshot> GetSnapshot()
    {
        await RefreshNow();
        return Snapshot();
    }

    public Task<IReadOnlyList<RecordedEvent>> GetEvents() => journal.ReadRecordedAsync(Key);

    public async Task<IReadOnlyList<TimelineStep>> GetTimeline() => WorkflowTimeline.Of((await journal.ReadAsync(Key)).Events);

    // Handle writes a decision's events itself (with the delivery that caused them and the summary, in the journal's
    // group commit) and only then raises them, so JournaledGrain never holds an unwritten event: a duplicate delivery
    // refused by the journal would otherwise be a pending event it retries forever.
    private (int Version, IReadOnlyList<IWorkflowEvent> Events)? written;

    private async Task<CommandOutcome> Handle(Func<DateTimeOffset, WorkflowCommand> command, string? delivery = null)
    {
        for (var round = 1; ; round++)
        {
            var next = command(clock.GetUtcNow());
            var attempt = next is Domain.Enqueue && !State.Current.IsActive ? State.Current.Attempt + 1 : State.Current.Attempt;
            // The attempt's trace, linked to whatever called (a webhook's request, an API call).
            using var activity = OrchestratorTelemetry.Source.StartActivity($"decide {next.GetType().Name}", ActivityKind.Internal,
                OrchestratorTelemetry.AttemptContext(Key.ToString(), attempt),
                links: Activity.Current is { } caller ? [new ActivityLink(caller.Context)] : null);
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
            var before = State.Current;
            var summary = MergeRequestIndex.Summarize(Key, decision.Events.Aggregate(before, WorkflowEvolver.Evolve));
            var appended = await journal.AppendAsync(new StreamAppend(Key, Version, decision.Events, delivery, summary));
            if (appended == WriteOutcome.Duplicate) return new CommandOutcome(Snapshot(), 0, null, Duplicate: true);
            if (appended == WriteOutcome.Written)
            {
                written = (Version, decision.Events);
                if (!await RaiseConditionalEvents(decision.Events)) await RefreshNow();
                OrchestratorTelemetry.EventsAppended.Add(decision.Events.Count);
                Measure(before, State.Current, decision.Events);
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

    private void Measure(MergeRequestWorkflow before, MergeRequestWorkflow after, IReadOnlyList<IWorkflowEvent> events)
    {
        if (before.State != after.State && before.IsActive && before.UpdatedAt is { } entered && after.UpdatedAt is { } left)
            OrchestratorTelemetry.StepDuration.Record((left - entered).TotalSeconds, new KeyValuePair<string, object?>("step", before.State.ToWireName()));
        if (before.IsActive && !after.IsActive)
            OrchestratorTelemetry.Workflows.Add(1, new KeyValuePair<string, object?>("outcome", after.State.ToWireName()));
        foreach (var e in events)
        {
            if (e is PipelineCreated && after.Images.Any(i => i.Verdict.NeedsRebuild())) OrchestratorTelemetry.ForcedRebuilds.Add(1);
            if (e is ImagePromoted) OrchestratorTelemetry.Promotions.Add(1);
            if (e is RegistryTampered t) OrchestratorTelemetry.RegistryTampering.Add(t.Changes.Count);
        }
    }

    protected override void TransitionState(WorkflowJournalState state, IWorkflowEvent @event) =>
        state.Current = WorkflowEvolver.Evolve(state.Current, @event);

    public async Task<KeyValuePair<int, WorkflowJournalState>> ReadStateFromStorage()
    {
        var (version, events) = await journal.ReadAsync(Key);
        return new(version, new WorkflowJournalState { Current = WorkflowEvolver.Fold(events) });
    }

    public async Task<bool> ApplyUpdatesToStorage(IReadOnlyList<IWorkflowEvent> updates, int expectedVersion)
    {
        if (written is { } w && w.Version == expectedVersion && w.Events.SequenceEqual(updates, ReferenceEqualityComparer.Instance))
        {
            written = null;
            return true;
        }
        // Nothing raises events Handle has not written; should anything, they are written here as before.
        return await journal.AppendAsync(Key, expectedVersion, updates);
    }
}
