using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Domain;
using Orchestrator.Persistence;
using Orchestrator.Hosting;
using Orchestrator.Telemetry;
using Orchestrator.Workflow;

namespace Orchestrator.Grains;

// Activated where the request arrived (the API and webhooks are co-hosted), so losing a silo loses its grains' work in flight only.
// A plain grain over the journal: the state is the stream's fold (WorkflowEvolver.Fold), moved on only by events the
// journal has made durable. Orleans' JournaledGrain did the same through a log-view adaptor that copied the state and
// queued every raised event through a worker of its own, which cost the intake more than the decision itself.
[Orleans.Placement.PreferLocalPlacement]
public sealed class MergeRequestGrain(WorkflowJournal journal, TimeProvider clock, ILogger<MergeRequestGrain> logger,
    IOptions<OrchestratorOptions> options, IWorkflowDriver driver, IPolicyStore policies)
    : Grain, IMergeRequestGrain, IRemindable
{
    private const string WakeUp = "advance";
    private readonly StepMemo memo = new();
    private IGrainTimer? poll;
    // Since when this activation has watched the workflow: time the orchestrator was down never counts against a step.
    private DateTimeOffset watchingSince;
    // The stream's version and its fold, as durable. Until the stream is read (loaded), they stand for a stream not
    // started: a command decided on that is appended only if the stream is indeed still empty (the journal's version
    // guard), so a new merge request's first delivery costs no read; anything else reads the stream first.
    private int version;
    private MergeRequestWorkflow current = MergeRequestWorkflow.Initial;
    private bool loaded;

    // A conflict means another writer appended first; each retry decides again on fresher state,
    // so a handful of rounds is plenty. More is a bug worth surfacing.
    private const int MaxConflictRounds = 5;

    private MergeRequestKey Key => MergeRequestKey.Parse(this.GetPrimaryKeyString());

    public async Task<CommandOutcome> Enqueue(Requester requester, string? delivery = null, RequestedHead? head = null) =>
        await Driven(await Handle(at => new Enqueue(requester.ToString(), at, requester, head ?? RequestedHead.From(null, RequestedHead.FirstLook)), delivery));

    public async Task<CommandOutcome> Cancel(string cancelledBy, string reason, string? delivery = null) =>
        await Driven(await Handle(at => new Cancel(cancelledBy, reason, at), delivery));

    public async Task<CommandOutcome> ObservePipeline(long pipelineId, string status, string? delivery = null) =>
        await Driven(await Handle(at => new Domain.ObservePipeline(pipelineId, status, at), delivery));

    public async Task Poke()
    {
        // Never awaits GitLab: the webhook that pokes must answer within milliseconds.
        await EnsureLoadedAsync();
        if (NeedsWork)
        {
            StartPolling();
            poll!.Change(TimeSpan.Zero, options.Value.Workflow.PollInterval);
        }
        ReleaseIfIdle();
    }

    public async Task<ReplayView> Replay()
    {
        await EnsureLoadedAsync();
        var report = WorkflowReplay.Run(await journal.ReadWithRulesAsync(Key));
        static string Name(IWorkflowEvent e) => WorkflowEventNames.NameOf(e);
        return new ReplayView(report.Consistent, report.State.State.ToWireName(), report.State.Attempt,
            [.. report.Decisions.Select(d => new ReplayedDecisionView(d.Version, d.Command,
                d.Inputs is null ? "null" : System.Text.Json.JsonSerializer.Serialize(d.Inputs, d.Inputs.GetType()),
                [.. d.Recorded.Select(Name)], [.. d.Decided.Select(Name)], d.Same, d.RecordedWith, d.Verdict))],
            report.RulesVersion, report.Unexplained);
    }

    public override Task OnActivateAsync(CancellationToken ct)
    {
        watchingSince = clock.GetUtcNow();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Reads the stream if this activation has not yet, and resumes polling if the workflow has work: every call but a
    /// command (which may decide on a stream not started, see <see cref="Handle"/>) begins here.
    /// </summary>
    private async Task EnsureLoadedAsync()
    {
        if (loaded) return;
        await LoadAsync();
    }

    /// <summary>Reads the stream again (another writer may have appended) and folds it.</summary>
    private async Task LoadAsync()
    {
        var first = !loaded;
        (version, var events) = await journal.ReadAsync(Key);
        current = WorkflowEvolver.Fold(events);
        loaded = true;
        if (first && NeedsWork) StartPolling();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await EnsureLoadedAsync();
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
        ReleaseIfIdle();
        return outcome;
    }

    /// <summary>
    /// A merge request with nothing to do keeps no activation once a delivery or a poke is answered
    /// (<c>Workflow:ReleaseIdleGrains</c>): its state is one batched read away, while an idle activation would be held,
    /// and its memory copied by every garbage collection, until Orleans collects it a quarter of an hour later. On the
    /// intake bench (64 connections) that took GC pauses from 11 % to 6 % of the time. One with work keeps it: it polls.
    /// </summary>
    private void ReleaseIfIdle()
    {
        if (options.Value.Workflow.ReleaseIdleGrains && !NeedsWork && poll is null) this.DeactivateOnIdle();
    }

    private bool NeedsWork => driver.Drives && current.NeedsWork;

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
        if (WorkflowDecider.Decide(tick, current).Events.Count > 0) await Handle(_ => tick);
    }

    private async Task StepUntilWaitingAsync(ProjectPolicy policy, CancellationToken ct)
    {
        for (var step = 0; step < 50; step++)
        {
            var state = current;
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
                // Also after the attempt ended: what is left is given up after a few refusals rather than retried for ever.
                if (state.NeedsWork && StepError(e) is { } error) await Handle(at => error with { At = at });
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
        await LoadAsync();
        return Snapshot();
    }

    public async Task<IReadOnlyList<RecordedEvent>> GetEvents()
    {
        await EnsureLoadedAsync();
        return await journal.ReadRecordedAsync(Key);
    }

    public async Task<IReadOnlyList<TimelineStep>> GetTimeline()
    {
        await EnsureLoadedAsync();
        return WorkflowTimeline.Of((await journal.ReadAsync(Key)).Events);
    }

    /// <summary>
    /// Decides the command on the state, appends its events with the delivery that caused them and the summary (in the
    /// journal's group commit, guarded by the stream's version), and only then moves the state on. Before the stream was
    /// read, the state is that of a stream not started: a decision that records events is appended on that guard (the
    /// journal refuses it if the stream exists, and the command is decided again on what is stored); one that records
    /// nothing, or a duplicate, is answered only from what is stored.
    /// </summary>
    private async Task<CommandOutcome> Handle(Func<DateTimeOffset, WorkflowCommand> command, string? delivery = null)
    {
        for (var round = 1; ; round++)
        {
            var next = command(clock.GetUtcNow());
            using var activity = WorkflowActivities.Decision(Key, next, current);
            var decision = WorkflowDecider.Decide(next, current);
            if ((decision.IsRejected || decision.Events.Count == 0) && !loaded)
            {
                await LoadAsync();
                continue;
            }
            if (decision.IsRejected)
            {
                activity?.SetTag("orchestrator.rejection", decision.Rejection!.Kind.ToString());
                OrchestratorTelemetry.CommandsRejected.Add(1);
            }
            if (decision.IsRejected || decision.Events.Count == 0)
                return new CommandOutcome(Snapshot(), 0, decision.Rejection);
            var before = current;
            var after = decision.Events.Aggregate(before, WorkflowEvolver.Evolve);
            var appended = await journal.AppendAsync(new StreamAppend(Key, version, decision.Events, delivery, MergeRequestIndex.Summarize(Key, after)));
            if (appended == WriteOutcome.Written)
            {
                (version, current, loaded) = (version + decision.Events.Count, after, true);
                OrchestratorTelemetry.EventsAppended.Add(decision.Events.Count);
                WorkflowMetrics.Record(before, current, decision.Events);
                return new CommandOutcome(Snapshot(), decision.Events.Count, null);
            }
            var guessed = !loaded;
            if (guessed) await LoadAsync();
            if (appended == WriteOutcome.Duplicate) return new CommandOutcome(Snapshot(), 0, null, Duplicate: true);
            // A stream found started where none was read is no race: decided again on what is stored, it is not counted.
            if (guessed) continue;
            OrchestratorTelemetry.ConcurrencyRetries.Add(1);
            if (round == MaxConflictRounds)
                throw new InvalidOperationException($"merge request {Key}: the stream kept changing under {round} decisions");
            logger.LogInformation("Merge request {MergeRequest}: stream moved on to version {Version}; deciding again", Key, version);
            await LoadAsync();
        }
    }

    private WorkflowSnapshot Snapshot() => new(version, current);

}
