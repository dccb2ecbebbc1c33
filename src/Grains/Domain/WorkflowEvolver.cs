namespace Orchestrator.Domain;

/// <summary>Folds events into state. Total: an event that does not fit (another attempt's, unknown) changes nothing.</summary>
public static class WorkflowEvolver
{
    public static MergeRequestWorkflow Evolve(MergeRequestWorkflow state, IWorkflowEvent @event)
    {
        if (@event is not MergeRequested && @event.Attempt != state.Attempt)
            return state;
        var next = @event switch
        {
            MergeRequested e => MergeRequestWorkflow.Initial with
            {
                Attempt = e.Attempt, State = WorkflowState.Queued, RequestedBy = e.RequestedBy, Requester = e.Requester, Head = e.Head,
                // A choice to delete was made on what the tag held then: the attempt's own end looks again.
                AttemptStartedAt = e.At, Promotions = state.Promotions, UpstreamBuilds = state.UpstreamBuilds is { } built ? [.. built.Select(i => i with { Cleanup = null })] : null,
                TagRestores = state.TagRestores, RegistryCheck = state.RegistryCheck,
            },
            // The request's check pins the target branch: every later effect is for that branch or none.
            PermissionChecked e => state with
            {
                LastPermissionCheck = new PermissionMark(e.Checkpoint, e.Rebase),
                TargetBranch = e.Checkpoint == PermissionCheckpoint.Request ? e.TargetBranch : state.TargetBranch,
                // A trigger that carried no head pins the one the request's check saw.
                Head = e.Checkpoint == PermissionCheckpoint.Request && state.Head is { Sha: null } first ? first with { Sha = e.MergeRequest?.Sha } : state.Head,
            },
            RequestRefused e => state with { State = WorkflowState.Refused, Outcome = e.Reason, RefusalAdvice = e.Advice },
            RebaseStarted e => state with
            {
                State = WorkflowState.Rebasing, Rebases = e.Rebase, PipelineId = null, PipelineStatus = null, PipelineProjectId = null, Guard = null,
                ForcedRebuild = false, BuiltImages = [], VerifiedInRepository = null, PlannedRewrite = null, EmbargoedUntil = null, Reapproval = null,
                ApprovalReset = null, StaleTags = null,
            },
            Rebased e => state with { State = WorkflowState.Checking, RebasedSha = e.RebasedSha, TargetSha = e.TargetSha },
            FreshnessChecked e => state with
            {
                State = WorkflowState.Building,
                Images = [.. e.Images.Select(i => new ImageState(i.Name, i.Tag, i.Verdict, null, i.FdoCommit, i.Digest))],
            },
            PipelineCreated e => state with
            {
                PipelineId = e.PipelineId, PipelineStatus = "created", ForcedRebuild = e.ForcedRebuild, PipelineCreatedAt = e.At,
                PipelineProjectId = e.ProjectId,
                RegistryCheck = state.RegistryCheck is { } owed && owed.Attempt == e.Attempt && owed.Rebase == state.Rebases
                    ? owed with { PipelineId = e.PipelineId, PipelineProjectId = e.ProjectId } : state.RegistryCheck,
            },
            StaleTagsChosen e => state with { StaleTags = e },
            PipelinePrepared e => state with
            {
                Guard = new PipelineGuard(e.RegistryBefore, e.DeletedTags, e.At),
                // Owed from now on: whatever ends this pipeline, the registry is read after it (rule book 8 on).
                RegistryCheck = e.ReadAfterAnyEnd
                    ? new OwedRegistryCheck(e.Attempt, state.Rebases, null, null, new PipelineGuard(e.RegistryBefore, e.DeletedTags, e.At), state.Images)
                    : state.RegistryCheck,
                // What our pipeline may build in the target's registry: taken back unless the merge happens.
                UpstreamBuilds = state.PendingCleanup.AddRange(
                    state.Images.Where(i => i.Verdict.NeedsRebuild() && !state.PendingCleanup.Any(p => p.Ref() == i.Ref()))),
            },
            PipelineObserved e => state with
            {
                PipelineStatus = e.Status,
                State = PipelineStatus.Classify(e.Status) == PipelineOutcome.Succeeded
                    || (PipelineStatus.Classify(e.Status) == PipelineOutcome.Skipped && e.SkippedPipelinesPolicy == "pass")
                    ? WorkflowState.Verifying : state.State,
            },
            BuildVerified e => state with
            {
                // The evidence holds the registry as read after the pipeline succeeded: that read is the owed one.
                RegistryCheck = e.Evidence is null ? state.RegistryCheck : null,
                State = e.Images.Count > 0 && e.Evidence is null ? WorkflowState.Promoting : WorkflowState.Merging,
                BuiltImages = [.. e.Images],
                VerifiedInRepository = e.Evidence?.UpstreamRepository,
                Images = [.. state.Images.Select(i => i with { Digest = e.Images.FirstOrDefault(b => b.Ref() == i.Ref())?.Digest })],
            },
            TargetMoved e => state with { TargetSha = e.TargetSha },
            ImagePromoted e => AfterPromotion(state with
            {
                Promotions = state.Promotions
                    .RemoveAll(p => p.Ref() == e.Ref())
                    .Add(new Promotion(e.Attempt, e.Name, e.Tag, e.Digest, e.Repository)),
            }),
            PromotionUndone e => state with
            {
                Promotions = state.Promotions.RemoveAll(p => p.Pin() == e.Pin()),
            },
            MergeRefused => state,
            BuildRejected e => e.Evidence is null ? state : state with { RegistryCheck = null },
            RegistryChecked => state with { RegistryCheck = null },
            CiTimedOut => state,
            StepTimedOut => state,
            RebaseStopped => state,
            StepErrored e => state with { ErrorsInStep = e.Count },
            // Nothing more is tried: no note (none is recorded as posted), nothing more taken back.
            // Tampered tags stay pending: their undoing is never given up.
            FinishingAbandoned => state with { OutcomeNoteId = state.OutcomeNoteId ?? 0, UpstreamBuilds = [], Promotions = [] },
            // The merge's checks are all made afresh once the window closes.
            MergeEmbargoed e => state with
            {
                EmbargoedUntil = e.Until,
                LastPermissionCheck = state.LastPermissionCheck?.Checkpoint == PermissionCheckpoint.Merge ? null : state.LastPermissionCheck,
            },
            // A car's plan before anything of it was pushed names the merge request's own head: what it merges, or what its
            // branch goes back to. A plan never pushed (the car rebuilt first) does not pin it: the author may push meanwhile.
            RewritePlanned e => state with
            {
                PlannedRewrite = e,
                Car = state.Car is { } car && (car.AuthorHead is null || state.RebasedSha is null) ? car with { AuthorHead = e.ExpectedSourceSha } : state.Car,
            },
            ReapprovalChecked e => state with { Reapproval = e },
            ApprovalResetObserved e => state with { ApprovalReset = e },
            TrainCarAssigned e => state with
            {
                Car = TrainCar.After(state.Car, e),
                // Each car is held to what the train said of its images when it was given (streams from before: none).
                CarImages = e.Seat.CarId is not null && e.Seat.Images is { } images ? new CarImageState(images, [], []) : null,
            },
            TrainCarImagesSeen e => state with
            {
                CarImages = state.CarImages is { } images
                    ? images with { Pushed = [.. images.Pushed, .. e.Pushed], Failed = [.. images.Failed, .. e.Failed] }
                    : state.CarImages,
            },
            TrainBumpsObserved e => state with { TrainBumps = e },
            TrainCarAnnounced e => state with { Car = state.Car is { } c && c.CarId == e.CarId ? c with { NoteId = e.NoteId } : state.Car },
            TrainCarAtHead => state with { Car = state.Car! with { AtHead = true } },
            TrainCarRejected => state,
            TrainMergePreviewed e => state with { Car = state.Car! with { AtHead = e.Equal } },
            TrainCarsAheadChecked e => state with { Car = TrainCarsAhead.Evolve(state.Car!, e) },
            TrainCarLandingChecked e => state with
            {
                Car = state.Car! with
                {
                    Ended = (state.Car.Ended ?? new()) with
                    {
                        LandingChecked = true, LandedUntested = !e.Equal, Note = e.Equal ? state.Car.Ended?.Note : MergeCommitCars.UntestedNote(e),
                    },
                },
            },
            TrainBranchUpdated e => state with { Car = state.Car! with { Ended = TrainCarEnds.Evolve(state.Car.Ended, e) } },
            RewriteFailed => state,
            OutcomeNoted e => state with { OutcomeNoteId = e.NoteId },
            UpstreamImageCleaned e => state with
            {
                UpstreamBuilds = state.PendingCleanup.FirstOrDefault(i => i.Ref() == e.Ref()) is { } pending && UpstreamCleanups.Reopens(e, pending)
                    ? [.. state.PendingCleanup.Select(i => i.Ref() == e.Ref() ? i with { Cleanup = null } : i)]
                    : state.PendingCleanup.RemoveAll(i => i.Ref() == e.Ref()),
            },
            RegistryTampered e => state with { TagRestores = RegistryRestores.Add(state.PendingRestores, e.Restores ?? []) },
            RegistryTagRestored e => state with { TagRestores = state.PendingRestores.RemoveAll(r => r.Repository == e.Repository && r.Tag == e.Tag) },
            UpstreamCleanupChosen e => state with
            {
                UpstreamBuilds = [.. state.PendingCleanup.Select(i => i.Ref() == e.Ref() ? i with { Cleanup = e.Choice } : i)],
            },
            // Merged: what our pipeline built is what main now uses.
            Merged e => state with { State = WorkflowState.Completed, MergeCommitSha = e.MergeCommitSha, Outcome = "merged", UpstreamBuilds = [] },
            AttemptFailed e => state with { State = WorkflowState.Failed, Outcome = e.Reason },
            MergedElsewhere e => state with
            {
                State = WorkflowState.MergedElsewhere, MergeCommitSha = e.MergeCommitSha,
                Outcome = $"merged by {(e.MergedBy is { } by ? "@" + by : "someone else")}" + (e.MergeCommitSha is { } sha ? $" as {sha}" : ""),
            },
            AttemptCancelled e => state with { State = WorkflowState.Cancelled, Outcome = $"cancelled by {e.CancelledBy}: {e.Reason}" },
            _ => state,
        };
        if (ReferenceEquals(next, state)) return state;
        // A step's deadline counts from when it began: a new state, or the same one again after a rebase.
        // Waiting behind the cars ahead was never the step's: its clock starts when the car reaches the head.
        var newStep = next.State != state.State || next.Rebases != state.Rebases || @event is TrainCarAtHead or TrainMergePreviewed { Equal: true };
        return next with
        {
            UpdatedAt = @event.At, StepStartedAt = newStep ? @event.At : state.StepStartedAt, ErrorsInStep = newStep ? 0 : next.ErrorsInStep,
        };
    }

    /// <summary>The state of a stored stream; older events are brought up to date first (<see cref="WorkflowUpcasting"/>).</summary>
    public static MergeRequestWorkflow Fold(IEnumerable<IWorkflowEvent> events) =>
        events.Select(WorkflowUpcasting.Upcast).Aggregate(MergeRequestWorkflow.Initial, Evolve);

    private static MergeRequestWorkflow AfterPromotion(MergeRequestWorkflow state) =>
        state.State == WorkflowState.Promoting && state.BuiltImages.All(b => state.Promotions.Any(
            p => p.Attempt == state.Attempt && p.Pin() == b.Pin()))
            ? state with { State = WorkflowState.Merging }
            : state;
}
