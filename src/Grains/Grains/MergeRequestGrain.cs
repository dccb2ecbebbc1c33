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
    IOptions<OrchestratorOptions> options, IWorkflowDriver driver, IPolicyStore policies)
    : JournaledGrain<WorkflowJournalState, IWorkflowEvent>,
      IMergeRequestGrain,
      ICustomStorageInterface<WorkflowJournalState, IWorkflowEvent>,
      IRemindable
{
    private const string WakeUp = "advance";
    private readonly StepMemo memo = new();
    private IGrainTimer? poll;
    // Since when this activation has watched the workflow: time the orchestrator was down never counts against a step.
    private DateTimeOffset watchingSince;

    // A conflict means another writer appended first; each retry decides again on fresher state,
    // so a handful of rounds is plenty. More is a bug worth surfacing.
    private const int MaxConflictRounds = 5;

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
        if (NeedsWork)
        {
            StartPolling();
            poll!.Change(TimeSpan.Zero, options.Value.Workflow.PollInterval);
        }
        return Task.CompletedTask;
    }

    public async Task<ReplayView> Replay()
    {
        var report = WorkflowReplay.Run(await journal.ReadWithRulesAsync(Key));
        static string Name(IWorkflowEvent e) => WorkflowEventNames.NameOf(e);
        return new ReplayView(report.Consistent, report.State.State.ToWireName(), report.State.Attempt,
            [.. report.Decisions.Select(d => new ReplayedDecisionView(d.Version, d.Command,
                d.Inputs is null ? "null" : System.Text.Json.JsonSerializer.Serialize(d.Inputs, d.Inputs.GetType()),
                [.. d.Recorded.Select(Name)], [.. d.Decided.Select(Name)], d.Same, d.RecordedWith, d.Verdict))],
            report.RulesVersion, report.Unexplained);
    }

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        watchingSince = clock.GetUtcNow();
        await base.OnActivateAsync(ct);
        if (NeedsWork) StartPolling();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The durable wake-up after a restart: activation has already resumed polling if there is work.
        if (!NeedsWork && await this.GetReminder(WakeUp) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private async Task<CommandOutcome> Driven(CommandOutcome outcome)
    {
        if (outcome.EventsRecorded > 0 && NeedsWork)
        {
            StartPolling();
            if (await this.GetReminder(WakeUp) is null)
                await this.RegisterOrUpdateReminder(WakeUp, options.Value.Workflow.ReminderPeriod, options.Value.Workflow.ReminderPeriod);
        }
        return outcome;
    }

    private bool NeedsWork => driver.Drives && State.Current.NeedsWork;

    private void StartPolling() =>
        poll ??= this.RegisterGrainTimer(AdvanceAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero, Period = options.Value.Workflow.PollInterval, Interleave = false,
        });

    /// <summary>Decide, record, perform the next effect, feed its result back — until the workflow has to wait.</summary>
    private async Task AdvanceAsync(CancellationToken ct)
    {
        ProjectPolicy policy;
        try
        {
            policy = await policies.CurrentAsync(Key.ProjectId, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Merge request {MergeRequest}: policy unreadable; retrying at the next poll", Key);
            return;
        }
        await StepUntilWaitingAsync(policy, ct);
        // Whatever holds the step up (a wait, an error that keeps coming back), its deadline is the decider's to judge.
        var tick = new ObserveClock(new ClockReading(policy.StepTimeoutMinutes, policy.CiTimeoutMinutes, watchingSince, memo.LastProblem), clock.GetUtcNow());
        if (WorkflowDecider.Decide(tick, State.Current).Events.Count > 0) await Handle(_ => tick);
    }

    private async Task StepUntilWaitingAsync(ProjectPolicy policy, CancellationToken ct)
    {
        for (var step = 0; step < 50; step++)
        {
            var state = State.Current;
            StepResult result;
            try
            {
                using var activity = WorkflowActivities.Step(Key, state);
                result = await driver.StepAsync(Key, state, policy, clock.GetUtcNow(), memo, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Failed even after the HTTP retries: the decider tells an answer no retry changes (it ends the attempt after
                // a few) from one that may heal; either way the step tries again at the next poll.
                memo.LastProblem = Problem(e);
                logger.LogWarning(e, "Merge request {MergeRequest}: step {State} failed: {Problem}", Key, state.State, memo.LastProblem);
                if (state.IsActive && StepError(e) is { } error) await Handle(at => error with { At = at });
                return;
            }
            switch (result)
            {
                case StepResult.Decide(var command):
                    var outcome = await Handle(_ => command);
                    if (outcome.Rejection is { } rejection)
                        logger.LogWarning("Merge request {MergeRequest}: {Command} rejected: {Reason}", Key, command.GetType().Name, rejection.Reason);
                    if (outcome.EventsRecorded == 0) return;
                    memo.LastProblem = null;
                    break;
                case StepResult.Done:
                    poll?.Dispose();
                    poll = null;
                    if (await this.GetReminder(WakeUp) is { } reminder) await this.UnregisterReminder(reminder);
                    return;
                case StepResult.Wait(var why, var again):
                    memo.LastProblem = why;
                    // Nothing pokes a merge request when GitLab finishes checking it: look again soon, not a poll later.
                    if (again is { } soon && soon < options.Value.Workflow.PollInterval) poll?.Change(soon, options.Value.Workflow.PollInterval);
                    return;
                default:
                    return;
            }
        }
    }

    /// <summary>A failure GitLab or the registry answered with a status, for the decider to classify.</summary>
    private static RecordStepError? StepError(Exception e) => e switch
    {
        Adapters.GitLabException g => new RecordStepError("gitlab", g.Status, g.GitLabMessage, default),
        Adapters.RegistryException r => new RecordStepError("registry", (int)r.Status, r.Message, default),
        _ => null,
    };

    /// <summary>What a failure was, in words fit for a note (never a token or a header).</summary>
    private static string Problem(Exception e) => e switch
    {
        Adapters.GitLabException g => $"GitLab answered {g.Status}: {g.GitLabMessage}",
        Adapters.RegistryException r => $"the registry answered {(int)r.Status}",
        TimeoutException or TaskCanceledException => "GitLab or the registry did not answer in time",
        HttpRequestException h => $"GitLab or the registry could not be reached ({h.HttpRequestError})",
        _ => "an unexpected error (see the orchestrator's log)",
    };

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
            using var activity = WorkflowActivities.Decision(Key, next, State.Current);
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
                WorkflowMetrics.Record(before, State.Current, decision.Events);
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
