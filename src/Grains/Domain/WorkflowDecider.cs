using static Orchestrator.Domain.WorkflowState;

namespace Orchestrator.Domain;

/// <summary>
/// The workflow's decisions: pure, total, and re-runnable on recorded inputs for audit.
/// A repeat of a command that already took effect decides nothing (no events, no rejection),
/// because webhooks, polls and retried grain calls all deliver the same fact more than once.
/// </summary>
public static class WorkflowDecider
{
    /// <summary>marge-bot's words when the source moved under an attempt; the shell's checks and the decider's say the same.</summary>
    public const string SomeonePushed = "Someone pushed to branch while we were trying to merge";

    /// <summary>marge-bot's words, and which heads: the branch moved after the merge was asked for.</summary>
    private static string Moved(string? now, string asked) =>
        $"{SomeonePushed}: the branch is at {now ?? "nothing"}, not at the {asked} the merge was asked for";

    public static Decision Decide(WorkflowCommand command, MergeRequestWorkflow state) => Decide(command, state, WorkflowRules.Current);

    /// <summary>
    /// Decides with a given rule book: today's, or one with a rule replaced (an audit's "what if"). The current step's row of
    /// <see cref="WorkflowSteps.Table"/> decides its own observations; everything else is what holds in any state.
    /// </summary>
    public static Decision Decide(WorkflowCommand command, MergeRequestWorkflow state, WorkflowRules rules) =>
        WorkflowSteps.RuleFor(state.State, command) is { } rule ? rule(command, state, rules) : Anywhere(command, state, rules);

    /// <summary>
    /// What holds whatever the step: a request, a permission check, time, errors, someone else's merge or cancel, the
    /// bookkeeping of an ended attempt, and late or repeated news of a step already passed (which changes nothing).
    /// </summary>
    private static Decision Anywhere(WorkflowCommand command, MergeRequestWorkflow state, WorkflowRules rules) => (command, state.State) switch
    {
        (Enqueue c, _) when state.IsActive && Reassigned(c.Requester, state.Requester) is { } why =>
            Decision.Of(new AttemptCancelled(state.Attempt, "gitlab", why, c.At)),
        (Enqueue, _) when state.IsActive => Decision.Nothing,
        (Enqueue, WorkflowState.MergedElsewhere) => Decision.Reject(RejectionKind.Conflict, $"merge request was already {state.Outcome}"),
        (Enqueue, Completed) => Decision.Reject(RejectionKind.Conflict,
            $"merge request was already merged as {state.MergeCommitSha}"),
        (Enqueue c, _) => Decision.Of(new MergeRequested(state.Attempt + 1, c.RequestedBy, c.At, c.Requester, c.Head)),

        (RecordCheckpoint c, _) when state.IsActive => DecideCheckpoint(c, state, rules),

        (RecordRebase c, _) when IsRepeatOfRebase(c, state) => Decision.Nothing,
        (RecordPipeline c, _) when c.PipelineId == state.PipelineId => Decision.Nothing,
        (RecordPromotion c, _) when state.Promotions.Any(p => p.Pin() == c.Pin()) => Decision.Nothing,
        (RecordMerge c, Completed) when c.MergeCommitSha == state.MergeCommitSha => Decision.Nothing,
        // Webhooks and polls arrive late and twice: news for a step the workflow is not in changes nothing.
        (ObservePipeline or ObserveEmbargo or TimeOut or ObserveUpstreamTag or ObserveTagFiles, _) => Decision.Nothing,

        (ObserveClock c, _) => DecideDeadline(c, state, rules),
        (RecordStepError c, _) when state.IsActive && rules.Unhealable(c.Source, c.Status) => DecideStepError(c, state),
        (RecordStepError c, _) when state.NeedsWork && rules.Unhealable(c.Source, c.Status) => DecideFinishingError(c, state),
        (RecordStepError, _) => Decision.Nothing,

        (RecordPromotionUndone c, _) => DecideUndo(c, state),
        (ObserveLandedTree c, _) when !state.IsActive => MergeCommitCars.DecideLanding(c, state),
        (RecordBranchUpdate c, _) when !state.IsActive => TrainCarEnds.Decide(c, state),
        (ObserveCleanup c, _) when !state.IsActive && state.PendingCleanup.Any(i => i.Ref() == c.Ref() && i.Cleanup is null) =>
            UpstreamCleanups.Decide(c, state, rules),
        (ObserveCleanup, _) when !state.IsActive => Decision.Nothing,
        (RecordUpstreamCleanup c, _) when !state.IsActive && state.PendingCleanup.FirstOrDefault(i => i.Ref() == c.Ref()) is { } pending =>
            UpstreamCleanups.DecideDone(c, pending, state),
        (RecordUpstreamCleanup, _) when !state.IsActive => Decision.Nothing,
        // Also while no pipeline of ours runs (a new attempt queued, a rebase before its pipeline): an earlier pipeline's
        // tampering is undone before a new snapshot is taken, and only once the registry was read after that pipeline stopped.
        (RecordTagRestore c, _) when (!state.IsActive || state.PipelineId is null) && RegistryChecks.Due(state) is null
            && RegistryRestores.Pending(state, c.Repository, c.Tag) is { } restore => RegistryRestores.Decide(c, restore, state),
        (RecordTagRestore, _) => Decision.Nothing,
        (ObserveRegistryAfter c, _) when RegistryChecks.Due(state) is { } owed => RegistryChecks.Decide(c, owed, state, rules),
        (ObserveRegistryAfter, _) => Decision.Nothing,

        (ObserveMerged c, _) when state.IsActive => MergedBySomeoneElse(c, state),
        (ObserveMerged, _) => Decision.Nothing,

        // The attempt's finishing completes only once the registry was read after its pipeline stopped.
        (RecordNote, _) when RegistryChecks.Blocks(state) is { } unread => Decision.Reject(RejectionKind.InvalidState, unread),
        (RecordNote c, Completed or WorkflowState.Failed or Cancelled or Refused or WorkflowState.MergedElsewhere) when state.OutcomeNoteId is null =>
            Decision.Of(new OutcomeNoted(state.Attempt, c.NoteId, c.At)),
        (RecordNote c, _) when state.OutcomeNoteId == c.NoteId => Decision.Nothing,

        (Fail c, _) when state.IsActive => Fail(state, c.Reason, c.At),

        (Cancel c, _) when state.IsActive => Decision.Of(new AttemptCancelled(state.Attempt, c.CancelledBy, c.Reason, c.At)),
        (Cancel, Cancelled) => Decision.Nothing,

        _ => DoesNotApply(command, state),
    };

    private static Decision DoesNotApply(WorkflowCommand command, MergeRequestWorkflow state) => Decision.Reject(RejectionKind.InvalidState,
        $"{command.GetType().Name} does not apply to a workflow that is {state.State.ToWireName()}");

    internal static Decision DecideRewriteFailure(RecordRewriteFailure c, MergeRequestWorkflow state) =>
        Decision.Of(new RewriteFailed(state.Attempt, c.Kind, c.Message, c.At), Failed(state, c.Kind switch
        {
            "source_moved" => SomeonePushed,
            "conflict" => $"Merge conflict: {c.Message}",
            _ => $"GitLab refused our rebased commits: {c.Message}",
        }, c.At));

    /// <summary>Whether the approvers may be approved again after our push: decided once per plan, before anything is pushed.</summary>
    internal static Decision DecideReapproval(CheckReapproval c, MergeRequestWorkflow state, WorkflowRules rules) =>
        state.Reapproval is not null ? Decision.Nothing
        : state is { PlannedRewrite: { } plan } && Reapprovals.Needed(plan) ? Reapprovals.Decide(c, state, rules)
        : DoesNotApply(c, state);

    /// <summary>
    /// The registry is snapshotted once per pipeline, before it is created: a second snapshot changes nothing. Never before
    /// the registry was read after the last pipeline of ours: a snapshot would take a digest it planted for what was there
    /// before. (A tag still pending a restore keeps its first digest from before: <see cref="RegistryRestores.Add"/>.)
    /// </summary>
    internal static Decision DecidePipelinePrepared(RecordPipelinePrepared c, MergeRequestWorkflow state) =>
        state.Guard is not null ? Decision.Nothing
        : RegistryChecks.Blocks(state) is { } unread ? Decision.Reject(RejectionKind.InvalidState, $"no new snapshot: {unread}")
        : StaleTags.Unchosen(state, c.DeletedTags) is { } unchosen
            ? Decision.Reject(RejectionKind.InvalidInput, $"{unchosen} was deleted, but the stale tags chosen for deletion were {string.Join(", ", state.StaleTags!.Delete)}")
        : state.PipelineId is null ? Decision.Of(new PipelinePrepared(state.Attempt, c.RegistryBefore, c.DeletedTags, c.At, ReadAfterAnyEnd: true))
        : DoesNotApply(c, state);

    /// <summary>The CI timeout as streams recorded it before deadlines carried their clock reading.</summary>
    internal static Decision DecideLegacyTimeOut(TimeOut c, MergeRequestWorkflow state) =>
        Decision.Of(new CiTimedOut(state.Attempt, state.PipelineId, c.At), Failed(state, CiTooLong, c.At));

    /// <summary>
    /// Checked right before every merge call, not only at the checkpoint: a retry after a refusal may fall inside a window.
    /// And while an embargo is waited out, against the policy as it is now: a window moved takes the new end, and one no
    /// longer in force (the policy changed) ends the wait now, recorded as an embargo until this moment.
    /// </summary>
    internal static Decision DecideEmbargo(ObserveEmbargo c, MergeRequestWorkflow state, WorkflowRules rules) =>
        rules.Embargo(c.Windows, c.At) switch
        {
            { } until when state.EmbargoedUntil != until => Decision.Of(new MergeEmbargoed(state.Attempt, until, c.Windows!, c.At)),
            null when state.EmbargoedUntil is { } waited && c.At < waited => Decision.Of(new MergeEmbargoed(state.Attempt, c.At, c.Windows ?? [], c.At)),
            _ => Decision.Nothing,
        };

    /// <summary>
    /// While merging, a merge by the bot (or by no one GitLab names) of exactly the tested commit is ours, done before a
    /// crash; anything else is someone else's merge: a success, not a complaint, and nothing of ours is claimed for it.
    /// </summary>
    internal static Decision DecideMergedWhileMerging(ObserveMerged c, MergeRequestWorkflow state) =>
        (c.MergedBy is null || string.Equals(c.MergedBy, c.BotUsername, StringComparison.OrdinalIgnoreCase))
        && (c.MergedSha is null ? c.BotUsername is null : c.MergedSha == state.SourceHead)
            ? Decision.Of(new Merged(state.Attempt, c.MergeCommitSha ?? state.RebasedSha!, c.At))
            : MergedBySomeoneElse(c, state);

    private static Decision MergedBySomeoneElse(ObserveMerged c, MergeRequestWorkflow state) =>
        Decision.Of(new MergedElsewhere(state.Attempt, c.MergeCommitSha, c.MergedBy, c.At, c.BotUsername, c.MergedSha));

    private const string CiTooLong = "CI is taking too long.";

    /// <summary>
    /// Rewriting commits is a push: where the project removes approvals on push, trailers would cost the approvals given.
    /// By default the bot refuses, and says how to choose; where the policy says <c>reapprove</c> it plans the rewrite, and
    /// whether it may approve again in the approvers' names is decided before the push (<see cref="Reapprovals"/>).
    /// </summary>
    internal static Decision DecideRewrite(PlanRewrite c, MergeRequestWorkflow state)
    {
        var planned = new RewritePlanned(state.Attempt, state.Rebases, c.ExpectedSourceSha, c.OntoSha, c.Trailers, c.CommitterName, c.CommitterEmail,
            c.At, c.ResetsApprovalsOnPush, c.ApprovalsGiven, c.OnApprovalReset, c.Approvers, c.ImpersonationConfigured, c.Upstream);
        // A car rebuilt onto a new base replays its own commits from the branch we pushed: a push by anyone since is not ours to move.
        if (state.Car is not null && state.SourceHead is { } ours && c.ExpectedSourceSha != ours)
            return Decision.Of(planned, Failed(state, $"{SomeonePushed}: the branch is at {c.ExpectedSourceSha}, not at the {ours} the train pushed", c.At));
        // Our git's first rewrite replays the requester's head, and nothing pushed after they asked.
        if (state.RebasedSha is null && state.PinnedHead is { } pinned && c.ExpectedSourceSha != pinned)
            return Decision.Of(planned, Failed(state, Moved(c.ExpectedSourceSha, pinned), c.At));
        // A merge-commit car pushes only to the train's own branch: the merge request's branch, and its approvals, stay as they are.
        if (!c.ResetsApprovalsOnPush || c.ApprovalsGiven == 0 || state.Car is { MergeCommits: true }) return Decision.Of(planned);
        if (c.OnApprovalReset == ApprovalsResetOnPush.Reapprove)
            return Reapprovals.Unplannable(c) is { } missing ? Decision.Of(planned, Failed(state, missing, c.At)) : Decision.Of(planned);
        if (state.Car is not null)
            return Decision.Of(planned, Failed(state, "this project removes all approvals when commits are added, so pushing this merge request's car " +
                $"of the merge train (its commits on top of the cars ahead) would drop the {c.ApprovalsGiven} approval(s) given. Use the serial " +
                "strategy for this project (the policy's `train`), or stop removing approvals on push (Settings → Merge requests → Approval settings)", c.At));
        return Decision.Of(planned, Failed(state, $"this project removes all approvals when commits are added, so writing the trailers would drop the " +
            $"{c.ApprovalsGiven} approval(s) given, and the orchestrator's policy does not approve again in the approvers' names. Remove `trailers` " +
            "from the policy, stop removing approvals on push (Settings → Merge requests → Approval settings), or let an administrator " +
            "turn on `approvalsResetOnPush: reapprove` (see the README for its risk)", c.At));
    }

    private static Decision DecideStepError(RecordStepError c, MergeRequestWorkflow state)
    {
        var count = state.ErrorsInStep + 1;
        var errored = new StepErrored(state.Attempt, state.State, c.Source, c.Status, c.Message, count, c.At);
        if (count < WorkflowRules.UnhealableLimit) return Decision.Of(errored);
        var who = c.Source == "gitlab" ? "GitLab" : "the registry";
        return Decision.Of(errored, Failed(state, $"{who} refused the request ({c.Status}): {c.Message}", c.At));
    }

    /// <summary>
    /// The attempt has ended and what is left (its note, taking back what it built) keeps being refused the same way: a
    /// note on a merge request GitLab no longer has or lets the bot see, say. After a few refusals it is given up, on
    /// record, rather than asked again at every poll for ever.
    /// </summary>
    private static Decision DecideFinishingError(RecordStepError c, MergeRequestWorkflow state)
    {
        // Undoing tampering is never given up (a planted image must not stay under a tag): with only that left, it is
        // tried again at every poll, unrecorded, and the orchestrator's log says why.
        if (state.OutcomeNoteId is not null && state.PendingCleanup.Count == 0 && state.Promotions.Count == 0) return Decision.Nothing;
        var count = state.ErrorsInStep + 1;
        var errored = new StepErrored(state.Attempt, state.State, c.Source, c.Status, c.Message, count, c.At);
        if (count < WorkflowRules.UnhealableLimit) return Decision.Of(errored);
        var who = c.Source == "gitlab" ? "GitLab" : "the registry";
        return Decision.Of(errored, new FinishingAbandoned(state.Attempt, state.State, $"{who} refused it {count} times ({c.Status}): {c.Message}",
            [.. state.PendingCleanup.Select(i => $"{i.Name}:{i.Tag}"), .. state.Promotions.Select(p => $"{p.Repository}:{p.Tag}@{p.Digest}")], c.At));
    }

    /// <summary>
    /// Deadlines count only the workflow's own waits: the queue is waiting on others (never timed), a running pipeline
    /// has the CI timeout, and every other step the step deadline, from when it began or the orchestrator resumed it.
    /// </summary>
    private static Decision DecideDeadline(ObserveClock c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        if (!state.IsActive || state.State == Queued || TrainCarRules.WaitingBehind(state)) return Decision.Nothing;
        if (state.State == Building && state.PipelineCreatedAt is { } created)
            return rules.CiOverdue(c.At - created, c.Clock.CiTimeoutMinutes)
                ? Decision.Of(new CiTimedOut(state.Attempt, state.PipelineId, c.At, c.Clock), Failed(state, CiTooLong, c.At))
                : Decision.Nothing;
        // Waiting out an embargo is waiting on no one: the step's clock starts again when the window closes.
        if (state.EmbargoedUntil is { } embargoed && c.At < embargoed) return Decision.Nothing;
        var began = state.StepStartedAt ?? state.UpdatedAt ?? c.At;
        if (state.EmbargoedUntil is { } ended && ended > began) began = ended;
        var since = c.Clock.WatchingSince is { } watching && watching > began ? watching : began;
        if (!rules.StepOverdue(c.At - since, c.Clock.StepTimeoutMinutes)) return Decision.Nothing;
        var reason = $"the {state.State.ToWireName()} step made no progress for {c.Clock.StepTimeoutMinutes} minutes" +
            (c.Clock.LastProblem is { Length: > 0 } last ? $" (last: {last})" : "") + ", the policy's stepTimeoutMinutes";
        return Decision.Of(new StepTimedOut(state.Attempt, state.State, since, c.At, c.Clock), Failed(state, reason, c.At));
    }

    /// <summary>The state in which each checkpoint's effect is next: a check anywhere else is late or early.</summary>
    private static WorkflowState StateOf(PermissionCheckpoint checkpoint) => checkpoint switch
    {
        PermissionCheckpoint.Request => Queued,
        PermissionCheckpoint.Rebase => Rebasing,
        PermissionCheckpoint.Pipeline => Building,
        PermissionCheckpoint.Promote => Promoting,
        _ => Merging,
    };

    /// <summary>
    /// Why an attempt asked for by assigning the bot no longer stands when someone else's assignment arrives (null: it
    /// stands): GitLab reports an assignment only when the bot was not assigned before, so the bot was unassigned since the
    /// attempt began (a withdrawal whose webhook was lost or is late), and the person now assigning it may not merge. The
    /// attempt is cancelled, and that person's own request (assigning again) is checked like any other.
    /// </summary>
    internal static string? Reassigned(Requester? asking, Requester? standing) =>
        asking is { Trigger: TriggerKind.Assignment, UserId: { } newcomer }
            && standing is { Trigger: TriggerKind.Assignment or TriggerKind.ReconciledAssignment, UserId: { } original } && newcomer != original
            ? $"I was unassigned and then assigned again by {asking.Display} while I worked for {standing.Display}; assign me again to have it merged"
            : null;

    private static Decision DecideCheckpoint(RecordCheckpoint c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        if (state.PermissionChecked(c.Checkpoint)) return Decision.Nothing;
        if (StateOf(c.Checkpoint) != state.State || (c.Checkpoint == PermissionCheckpoint.Pipeline && state.PipelineId is not null))
            return Decision.Reject(RejectionKind.InvalidState,
                $"a permission check before the {c.Checkpoint.ToString().ToLowerInvariant()} does not apply to a workflow that is {state.State.ToWireName()}");
        var moved = c.Checkpoint != PermissionCheckpoint.Request && state.TargetBranch is { } pinned && pinned != c.TargetBranch;
        var verdict = moved
            ? new PermissionVerdict(false, $"the target branch changed from {state.TargetBranch} to {c.TargetBranch} after the merge was asked for")
            : MergePermission.AtCheckpoint(c.Checkpoint, rules.MayMerge(state.Requester, c.Observation, c.AllowedCommanders, c.At), state.Requester, c.Observation);
        var checkedEvent = new PermissionChecked(state.Attempt, c.Checkpoint, state.Rebases, state.Requester, c.Observation,
            c.AllowedCommanders, verdict.Allowed, verdict.Reason, c.At, c.TargetBranch, c.MergeRequest, c.RequiredApprovals, c.SuggestedPolicy, c.ImagesNow);
        // Withdrawn (unassigned, label taken off) is a cancellation, whoever's word arrives first: the webhook's or this look.
        if (c.MergeRequest?.Withdrawn(state.Requester) is { } withdrawn)
            return Decision.Of(checkedEvent, new AttemptCancelled(state.Attempt, "gitlab", withdrawn, c.At));
        if (verdict.Allowed)
            return CheckpointFailure(c, state, rules) is { } failure ? Decision.Of(checkedEvent, Failed(state, failure, c.At)) : Decision.Of(checkedEvent);
        if (moved) return Decision.Of(checkedEvent, Failed(state, MergeRequestFacts.RetargetedReason(state.TargetBranch!, c.TargetBranch), c.At));
        if (c.Checkpoint == PermissionCheckpoint.Request)
            return Decision.Of(checkedEvent, new RequestRefused(state.Attempt, state.Requester, verdict.Reason, c.At, verdict.Advice));
        var who = state.Requester?.Display ?? "the person who asked";
        return Decision.Of(checkedEvent, Failed(state, $"{who} may no longer merge this: {verdict.Reason}.", c.At));
    }

    private static readonly System.Text.Json.JsonSerializerOptions SuggestionJson = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>What stops an allowed requester's effect: images nothing would check, a precondition, a tested image's tag moved.</summary>
    private static string? CheckpointFailure(RecordCheckpoint c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        if (c.SuggestedPolicy is { } suggested)
            return "this project builds CI images with ci-templates but has no image policy, so nothing would check them. " +
                $"A maintainer can store this suggested policy (`PUT /api/v1/projects/<project>/policy`), then ask again:\n\n" +
                "```json\n" + System.Text.Json.JsonSerializer.Serialize(suggested, SuggestionJson) + "\n```\n";
        if (c.MergeRequest is { } mr && Preconditions.FirstFailure(rules.Preconditions, mr, c.RequiredApprovals, state.ExpectedHead) is { } reason)
            return reason;
        // The merge makes the tag's image main's: it must still be the one our jobs ran on.
        var moved = (c.ImagesNow ?? []).Select(now => (now, tested: state.BuiltImages.FirstOrDefault(b => state.IsTaggedAs(b, now))))
            .Where(p => p.tested is not null && p.now.Digest != p.tested.Digest)
            .Select(p => $"{p.now.Repository}:{p.now.Tag} now points at {p.now.Digest ?? "nothing"}, not at the {p.tested!.Digest} our jobs ran on")
            .ToList();
        return moved.Count > 0 ? "The images changed after our tests ran on them: " + string.Join("; ", moved) + "." : null;
    }

    private static bool IsRepeatOfRebase(RecordRebase c, MergeRequestWorkflow state) =>
        state.State > Rebasing && state.IsActive && c.Facts.OnTop && c.Facts.Sha == state.RebasedSha && c.Facts.TargetHead == state.TargetSha;

    internal static Decision DecideRebase(RecordRebase c, MergeRequestWorkflow state)
    {
        var f = c.Facts;
        if (f.State != "opened")
            return Decision.Of(new RebaseStopped(state.Attempt, f, c.At), Failed(state, $"the merge request was {f.State} while we were rebasing it", c.At));
        // Before our first rebase, the branch must hold what the requester asked for: a later push is not theirs to merge.
        // (Once our git's rewrite is planned, the plan was held to it, and the push's lease holds the branch to the plan.)
        if (!f.Requested && state.RebasedSha is null && state.PlannedRewrite is null && state.PinnedHead is { } pinned && f.Sha != pinned)
            return Decision.Of(new RebaseStopped(state.Attempt, f, c.At), Failed(state, Moved(f.Sha, pinned), c.At));
        if (f.OnTop)
        {
            // GitLab's rebase takes no expected head: what it rewrote must be the head this attempt stands for, or someone pushed.
            // (Our git's rewrite pushes with a lease on the head it planned from, and needs no such look.)
            if (f.Requested && state.PlannedRewrite is null && state.ExpectedHead is { } expected && f.Sha != expected && f.RebasedFrom != expected)
                return Decision.Of(new RebaseStopped(state.Attempt, f, c.At), Failed(state, f.VersionHeads is null
                    ? $"{SomeonePushed}: GitLab's rebase landed at {f.Sha}, and its diff versions were not read, so nothing shows it rebased the {expected} this attempt stands for"
                    : $"{SomeonePushed}: GitLab rebased {f.RebasedFrom ?? "a head its diff versions do not show"} to {f.Sha}, not the {expected} this attempt stands for", c.At));
            var rebased = new Rebased(state.Attempt, f.Sha!, f.TargetHead, c.At, f);
            // Rebased onto the target and nothing is left: the changes are already there, and a merge would add nothing.
            if (f.Sha == f.TargetHead)
                return Decision.Of(rebased, Failed(state, $"these changes already exist in branch `{state.TargetBranch ?? "the target"}`", c.At));
            // Approvals are given back only for the head whose changes were judged: the rewrite is deterministic, so
            // another head means something else was pushed, which no one approved.
            if (state.Reapproval is { Allowed: true } judged && judged.Rebase == state.Rebases && f.Sha != judged.Facts.NewHead)
                return Decision.Of(rebased, Failed(state, $"my rewrite is at {f.Sha}, not at the {judged.Facts.NewHead} whose changes were checked, " +
                    "so I do not approve it in anyone's name; ask the approvers to approve again", c.At));
            return Decision.Of(rebased);
        }
        // An error GitLab kept from before this attempt asked is not this rebase's.
        if (f.Requested && !string.IsNullOrEmpty(f.MergeError))
            return Decision.Of(new RebaseStopped(state.Attempt, f, c.At), Failed(state, $"Merge conflict: {f.MergeError}", c.At));
        return Decision.Nothing;
    }

    internal static Decision DecideFreshness(RecordFreshness c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        var images = c.Observations is { } seen ? TrainCarImages.ForBuilder(state, [.. seen.Select(rules.Freshness)]) : c.AsRecorded ?? [];
        var checkedEvent = new FreshnessChecked(state.Attempt, state.RebasedSha!, images, c.AllowUnbumpedInputs, c.At, c.Observations, c.UnreadableTags);
        // An image whose tag cannot be read cannot be checked: nothing runs on a guess.
        if (c.UnreadableTags is { Count: > 0 } unreadable)
            return Decision.Of(checkedEvent, Failed(state, $"cannot read {string.Join(", ", unreadable)} at {state.RebasedSha}", c.At));
        if (TrainCarImages.FreshnessProblem(state, images) is { } train)
            return Decision.Of(checkedEvent, Failed(state, train, c.At));
        var unbumped = images.Where(i => i.Verdict == FreshnessVerdict.Unbumped).Select(i => i.Name).ToList();
        if (unbumped.Count == 0 || c.AllowUnbumpedInputs)
            return Decision.Of(checkedEvent);
        return Decision.Of(checkedEvent, new AttemptFailed(state.Attempt, Checking,
            $"This merge request changes what image {string.Join(", ", unbumped)} is built from without bumping its tag. " +
            "Bump the tag so the image is rebuilt, or ask a maintainer to allow unbumped inputs.", c.At));
    }

    internal static Decision DecidePipeline(RecordPipeline c, MergeRequestWorkflow state)
    {
        if (state.PipelineId == c.PipelineId) return Decision.Nothing;
        if (state.PipelineId is not null)
            return Decision.Reject(RejectionKind.Conflict,
                $"attempt {state.Attempt} already runs pipeline {state.PipelineId}; one pipeline per attempt");
        // Recorded whatever it runs, so that an attempt that ends here stops it.
        var created = new PipelineCreated(state.Attempt, c.PipelineId, c.Sha, c.ForcedRebuild, c.At, c.ProjectId, c.TargetProjectId);
        if (c.Sha != state.RebasedSha)
            return Decision.Of(created, Failed(state, $"{SomeonePushed}: pipeline {c.PipelineId} runs {c.Sha}, not the rebased {state.RebasedSha}; it is cancelled", c.At));
        if (c.TargetProjectId is { } target && c.ProjectId is { } ran && ran != target)
            return Decision.Of(created, Failed(state, $"GitLab ran the merge request pipeline in the fork (project {ran}, pipeline {c.PipelineId}), " +
                "where its owner controls the runners and the registry; nothing from it counts, and I cancel it if I can. " +
                "Let fork merge request pipelines run in this project (Settings → CI/CD → General pipelines) and ask again.", c.At));
        return Decision.Of(created);
    }

    /// <summary>What makes a running pipeline pointless, from the facts a poll brings: the MR closed, made a draft, pushed to.</summary>
    private static readonly string[] WhileBuilding = ["open", "not_draft", "source_unchanged"];

    internal static Decision DecideObservation(ObservePipeline c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        // Observations arrive from webhooks and polls, late, twice and out of order: anything that is not
        // news about the pipeline we are waiting on changes nothing.
        // A poll that names the manual jobs blocking the pipeline is news even when a webhook already said "manual".
        var blocked = c.Status == "manual" && c.ManualJobs is { Count: > 0 };
        if (state.State != Building || state.PipelineId != c.PipelineId) return Decision.Nothing;
        var observed = new PipelineObserved(state.Attempt, c.PipelineId, c.Status, c.At, c.ManualJobs, c.ManualJobsPolicy, c.SkippedPipelinesPolicy, c.MergeRequest);
        if (c.MergeRequest?.Withdrawn(state.Requester) is { } withdrawn)
            return Decision.Of(observed, new AttemptCancelled(state.Attempt, "gitlab", withdrawn, c.At));
        // Noticed while the pipeline runs, not only at the merge: the rest of the pipeline would test the old target.
        if (c.MergeRequest?.Retargeted(state.TargetBranch) is { } retargeted) return Decision.Of(observed, Failed(state, retargeted, c.At));
        if (c.MergeRequest is { } mr
            && Preconditions.FirstFailure([.. rules.Preconditions.Where(p => WhileBuilding.Contains(p.Name))], mr, 0, state.SourceHead) is { } pointless)
            return Decision.Of(observed, Failed(state, pointless, c.At));
        if (state.PipelineStatus == c.Status && !blocked) return Decision.Nothing;
        if (blocked && c.ManualJobsPolicy != "wait")
            return Decision.Of(observed, Failed(state,
                $"CI is waiting on the manual job(s) {string.Join(", ", c.ManualJobs!)}, which nothing will run: " +
                "make them optional or automatic, or set the policy's manualJobs to wait", c.At));
        return rules.PipelineOutcome(c.Status) switch
        {
            PipelineOutcome.Succeeded => Decision.Of(observed),
            // A car's pipeline also tests the cars ahead: the train says whose failure it is, once they have landed.
            PipelineOutcome.Failed when state.Car is not null => Decision.Of(observed),
            PipelineOutcome.Failed => Decision.Of(observed, Failed(state, "CI failed!", c.At)),
            PipelineOutcome.Canceled => Decision.Of(observed, Failed(state, "Someone canceled the CI.", c.At)),
            // marge-bot merges on a skipped pipeline; nothing was tested, so only a policy that says so does too.
            PipelineOutcome.Skipped when c.SkippedPipelinesPolicy == "pass" => Decision.Of(observed),
            PipelineOutcome.Skipped => Decision.Of(observed, Failed(state, "CI was skipped: the pipeline ran no job.", c.At)),
            _ => Decision.Of(observed),
        };
    }

    internal static Decision DecideVerification(RecordVerification c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        // A car is tested on a speculative base ahead of the target: its merge waits for the train to reach it.
        if (state.Car is null && c.TargetSha != state.TargetSha)
            return Rebase(state, new TargetMoved(state.Attempt, state.TargetSha!, c.TargetSha, c.At, c.MaxRebases), c.MaxRebases, c.At);
        if (c.Evidence is { } evidence) return DecideVerifiedInTarget(c, evidence, state, rules);

        var rejected = new BuildRejected(state.Attempt, c.TargetSha, c.Images, c.At);
        foreach (var image in c.Images)
        {
            if (image.LabelCommit != state.RebasedSha || image.LabelPipelineId != state.PipelineId)
                return Decision.Of(rejected, Failed(state,
                    $"Image {image.Name}:{image.Tag} ({image.Digest}) is labelled with commit {image.LabelCommit ?? "none"} " +
                    $"and pipeline {image.LabelPipelineId?.ToString() ?? "none"}, not with {state.RebasedSha} " +
                    $"and pipeline {state.PipelineId}: it was not built by this merge request's pipeline.", c.At));
        }

        var notBuilt = state.Images
            .Where(i => state.ForcedRebuild && i.Verdict.NeedsRebuild() && !c.Images.Any(b => b.Ref() == i.Ref()))
            .Select(i => $"{i.Name}:{i.Tag}")
            .ToList();
        if (notBuilt.Count > 0)
            return Decision.Of(rejected, Failed(state, $"The pipeline succeeded but did not build {string.Join(", ", notBuilt)}.", c.At));

        return Decision.Of(new BuildVerified(state.Attempt, c.TargetSha, c.Images, c.At));
    }

    /// <summary>
    /// A pipeline that ran in the target project: the images are what its jobs ran on (by the runner's digests), and the
    /// registry holds nothing else it changed. Nothing is copied afterwards: the merge makes the tested image main's. What
    /// else it changed is recorded to be taken back (<see cref="RegistryRestores"/>), whatever the rest of the verdict.
    /// </summary>
    private static Decision DecideVerifiedInTarget(RecordVerification c, VerificationEvidence evidence, MergeRequestWorkflow state, WorkflowRules rules)
    {
        var result = ImageVerification.Verify(evidence.Images, evidence.Jobs, state.RebasedSha!, state.PipelineId!.Value, evidence.UnverifiedJobsAllowed);
        var expected = RegistryChecks.Expected(state.Images, state.Guard, evidence.UpstreamRepository).ToList();
        // Another car's build beside ours is expected only at a digest the train vouches for.
        var (beside, unvouched) = TrainVouching.Judge(state, evidence);
        var (unexpected, restores) = RegistryChecks.Compare(state.Guard?.Before ?? [], evidence, [.. expected, .. beside], rules);
        var problems = result.Problems.Concat(unexpected.Select(u => $"our pipeline changed a tag it had no business changing: {u}")).Concat(unvouched)
            .Concat(TrainCarImages.VerificationProblems(state, result.Verified)).ToList();
        // A trigger job's downstream pipeline runs the MR's code after ours reports success, and unseen by these checks.
        if (evidence.Bridges is { Count: > 0 } bridges)
            problems.Add($"pipeline {state.PipelineId} triggers downstream pipelines ({string.Join(", ", bridges)}), which run on after it and cannot be verified");
        // Every image of the check is accounted for, and each tag still holds the digest the jobs ran on.
        problems.AddRange(state.Images.Where(i => !evidence.Images.Any(e => e.Ref() == i.Ref()))
            .Select(i => $"{i.Name}:{i.Tag} was not looked at after the pipeline"));
        foreach (var image in result.Verified)
        {
            var now = evidence.RegistryAfter.FirstOrDefault(t => t.Repository == $"{evidence.UpstreamRepository}/{image.Name}" && t.Tag == image.Tag)?.Digest;
            if (now != image.Digest)
                problems.Add($"{evidence.UpstreamRepository}/{image.Name}:{image.Tag} points at {now ?? "nothing"}, not at the {image.Digest} our jobs ran on");
        }
        if (problems.Count == 0)
            return Decision.Of(new BuildVerified(state.Attempt, c.TargetSha, result.Verified, c.At, evidence));
        var rejected = new BuildRejected(state.Attempt, c.TargetSha, result.Verified, c.At, evidence);
        var failed = Failed(state, "The images could not be verified: " + string.Join("; ", problems) + ".", c.At);
        return unexpected.Count == 0
            ? Decision.Of(rejected, failed)
            : Decision.Of(rejected, new RegistryTampered(state.Attempt, state.PipelineId!.Value, unexpected, c.At, restores), failed);
    }

    /// <summary>An upstream tag is main's promise to everyone who pulls it: a promotion never overwrites another image there.</summary>
    internal static Decision DecideUpstreamTag(ObserveUpstreamTag c, MergeRequestWorkflow state)
    {
        var verified = state.BuiltImages.FirstOrDefault(b => b.Ref() == c.Ref());
        if (verified is null || c.Digest is not { } there || there == verified.Digest
            || state.Promotions.Any(p => p.Pin() == new PinnedImage(c.Ref(), there)))
            return Decision.Nothing;
        return Decision.Of(new UpstreamTagTaken(state.Attempt, c.Name, c.Tag, c.Repository, there, c.At),
            Failed(state, $"{c.Repository}:{c.Tag} already exists upstream as {there}; it is never overwritten. Bump the tag.", c.At));
    }

    internal static Decision DecidePromotion(RecordPromotion c, MergeRequestWorkflow state)
    {
        // Fork images are untrusted: only what verification recorded, by digest, may go upstream.
        if (state.BuiltImages.FirstOrDefault(b => b.Ref() == c.Ref()) is not { } verified)
            return Decision.Reject(RejectionKind.InvalidInput,
                $"{c.Name}:{c.Tag} was not verified by attempt {state.Attempt}; nothing unverified is promoted");
        if (state.Promotions.Any(p => p.Attempt == state.Attempt && p.Pin() == c.Pin()))
            return Decision.Nothing;
        var promoted = new ImagePromoted(state.Attempt, c.Name, c.Tag, c.Digest, c.Repository, c.At);
        // The copy landed something else under the tag: recorded, so the attempt's end takes it back, and nothing merges on it.
        return c.Digest == verified.Digest
            ? Decision.Of(promoted)
            : Decision.Of(promoted, Failed(state, $"promoting {c.Name}:{c.Tag} produced {c.Digest}, not the verified {verified.Digest}", c.At));
    }

    private static Decision DecideUndo(RecordPromotionUndone c, MergeRequestWorkflow state)
    {
        if (!state.Promotions.Any(p => p.Pin() == c.Pin()))
            return Decision.Nothing;
        if (state.State == Completed)
            return Decision.Reject(RejectionKind.InvalidState,
                $"{c.Name}:{c.Tag} was promoted for a merge that happened; it stays");
        return Decision.Of(new PromotionUndone(state.Attempt, c.Name, c.Tag, c.Digest, c.At));
    }

    internal static Decision DecideMergeRefusal(RecordMergeRefusal c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        // GitLab merges a merge-commit car onto whatever the target is: its tree was checked right before, so a moved target is no rebase.
        var refusal = c.After is { } after
            ? rules.ClassifyRefusal(c.StatusCode, after, state.SourceHead!, state.Car is { MergeCommits: true } ? after.TargetHead ?? state.TargetSha! : state.TargetSha!)
            : c.AsRecorded ?? MergeRefusal.NotMergeable;
        var refused = new MergeRefused(state.Attempt, c.StatusCode, c.Message, refusal, c.At, c.MaxRebases, c.After);
        return refusal switch
        {
            MergeRefusal.StillChecking => Decision.Of(refused),
            // A car is rebuilt by its train, on the new target and with a new head for the cars behind; rebasing it
            // here would rebase it onto the base it already has.
            MergeRefusal.TargetMoved when state.Car is not null => Decision.Of(refused),
            MergeRefusal.TargetMoved => Rebase(state, refused, c.MaxRebases, c.At),
            MergeRefusal.SourceChanged => Decision.Of(refused,
                Failed(state, SomeonePushed, c.At)),
            _ => Decision.Of(refused, Failed(state, $"GitLab refused the merge ({c.StatusCode}): {c.Message}", c.At)),
        };
    }

    private static Decision Rebase(MergeRequestWorkflow state, IWorkflowEvent cause, int maxRebases, DateTimeOffset at) =>
        state.Rebases < maxRebases
            ? Decision.Of(cause, new RebaseStarted(state.Attempt, state.Rebases + 1, "target branch moved", at))
            : Decision.Of(cause, Failed(state,
                $"The target branch kept moving: rebased {state.Rebases} time(s), the most the policy allows.", at));

    private static Decision Fail(MergeRequestWorkflow state, string reason, DateTimeOffset at) =>
        Decision.Of(Failed(state, reason, at));

    private static AttemptFailed Failed(MergeRequestWorkflow state, string reason, DateTimeOffset at) =>
        new(state.Attempt, state.State, reason, at);
}
