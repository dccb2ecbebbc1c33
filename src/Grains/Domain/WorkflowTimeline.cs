using System.Globalization;

namespace Orchestrator.Domain;

/// <summary>A fact an event carried that a person reading the timeline wants to see (a verdict, a pipeline, a digest).</summary>
[GenerateSerializer, Alias("TimelineFact")]
public sealed record TimelineFact([property: Id(0)] string Name, [property: Id(1)] string Value);

/// <summary>One recorded event, in words.</summary>
[GenerateSerializer, Alias("TimelineEntry")]
public sealed record TimelineEntry(
    [property: Id(0)] long Version,
    [property: Id(1)] string Event,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string Summary,
    [property: Id(4)] IReadOnlyList<TimelineFact> Facts);

/// <summary>
/// A stretch of one attempt spent in one state: from the event that entered it until the event that entered the
/// next. The last step of an ended attempt has no length; the current step of an active one is still open.
/// </summary>
[GenerateSerializer, Alias("TimelineStep")]
public sealed record TimelineStep(
    [property: Id(0)] int Attempt,
    [property: Id(1)] string Step,
    [property: Id(2)] DateTimeOffset Started,
    [property: Id(3)] DateTimeOffset? Ended,
    [property: Id(4)] IReadOnlyList<TimelineEntry> Entries)
{
    public TimeSpan? Duration => Ended - Started;
}

/// <summary>
/// The stream told as steps, for people: folds the events with <see cref="WorkflowEvolver"/> and cuts a new step
/// wherever the state changes, so the steps agree with the workflow by construction. Pure, like the decider.
/// </summary>
public static class WorkflowTimeline
{
    public static IReadOnlyList<TimelineStep> Of(IReadOnlyList<IWorkflowEvent> events)
    {
        var steps = new List<TimelineStep>();
        var state = MergeRequestWorkflow.Initial;
        List<TimelineEntry>? entries = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var after = WorkflowEvolver.Evolve(state, e);
            var entry = new TimelineEntry(i + 1, NameOf(e), e.At, Summary(e), Facts(e));
            if (entries is null || after.State != state.State || after.Attempt != state.Attempt)
            {
                if (steps.Count > 0 && steps[^1].Ended is null) steps[^1] = steps[^1] with { Ended = e.At };
                entries = [entry];
                steps.Add(new TimelineStep(after.Attempt, after.State.ToWireName(), e.At, after.IsActive ? null : e.At, entries));
            }
            else
            {
                entries.Add(entry);
            }
            state = after;
        }
        return steps;
    }

    private static string NameOf(IWorkflowEvent e) => WorkflowEventNames.NameOf(e);

    private static string Short(string? sha) => sha is { Length: > 12 } ? sha[..12] : sha ?? "?";

    private static string Summary(IWorkflowEvent e) => e switch
    {
        MergeRequested m => $"merge requested by {m.RequestedBy}" + (m.Requester is { } r ? $" ({Trigger(r.Trigger)})" : "") +
            (m.Head is { Sha: { } sha } ? $" for {sha[..Math.Min(12, sha.Length)]}" : ""),
        PermissionChecked p => $"{(p.Allowed ? "allowed" : "refused")} before the {p.Checkpoint.ToString().ToLowerInvariant()}: {p.Reason}",
        RequestRefused r => $"refused: {r.Reason}",
        RegistryChecked r => $"registry read after pipeline {r.PipelineId?.ToString() ?? "(none recorded)"} stopped ({r.PipelineStatus ?? "never created"}): " +
            $"{r.Evidence.RegistryAfter.Count} tags",
        RegistryTampered t => $"ALERT: pipeline {t.PipelineId} changed {string.Join("; ", t.Changes)}",
        RegistryTagRestored r => r.Outcome switch
        {
            TagRestoreOutcome.Restored => $"{r.Repository}:{r.Tag} taken back to " + (r.After ?? "absent, as before our pipeline"),
            TagRestoreOutcome.Deleted => $"{r.Repository}:{r.Tag} deleted: the digest it held before our pipeline is gone from the registry",
            _ => $"{r.Repository}:{r.Tag} left: it held {r.Found ?? "nothing"}, pushed since by someone else",
        },
        RebaseStarted r => $"rebase {r.Rebase}: {r.Reason}",
        Rebased r => $"rebased to {Short(r.RebasedSha)} on target {Short(r.TargetSha)}",
        FreshnessChecked f => f.Images.Count == 0
            ? "no image to check"
            : string.Join(", ", f.Images.Select(i => $"{i.Name}:{i.Tag} {i.Verdict.ToString().ToLowerInvariant()}")),
        PipelineCreated p => $"pipeline {p.PipelineId} created on {Short(p.Sha)}" +
            (p.ProjectId is { } project ? $" in the target project {project}" : p.ForcedRebuild ? " with FDO_FORCE_REBUILD=1" : ""),
        StaleTagsChosen { Forced: true } t => $"the tags a forced rebuild overwrites, checked against what {t.InUse.Select(u => u.Branch).Distinct().Count()} branch head(s) in use name",
        StaleTagsChosen t => t.Delete.Count == 0 ? "no stale tag to delete before our pipeline: each is named by the target or a protected branch"
            : $"to delete before our pipeline, so it rebuilds them: {string.Join(", ", t.Delete)}",
        PipelinePrepared p => p.DeletedTags.Count == 0
            ? $"registry snapshotted ({p.RegistryBefore.Count} tags); nothing stale to delete"
            : $"deleted the stale {string.Join(", ", p.DeletedTags)} so our pipeline rebuilds it; registry snapshotted ({p.RegistryBefore.Count} tags)",
        UpstreamImageCleaned u => (u.Deleted, u.Found) switch
        {
            (true, _) => $"{u.Name}:{u.Tag} built by our pipeline deleted: the merge did not happen",
            (false, { } other) => $"{u.Name}:{u.Tag} held {other} when it was to be deleted: looked at again",
            _ => $"{u.Name}:{u.Tag} left as it is (see the choice above), or found gone",
        },
        UpstreamCleanupChosen u => $"{(u.Choice.Delete ? "to delete" : "to keep")}: {u.Choice.Reason}",
        PipelineObserved p => $"pipeline {p.PipelineId} {p.Status}",
        BuildVerified b => b.Images.Count == 0 ? "pipeline green on the rebased SHA" : $"{b.Images.Count} image(s) verified against the rebased SHA and pipeline",
        // Why is the attempt's end (the next entry): labels, digests, the registry after the pipeline, or a downstream pipeline.
        BuildRejected b => b.Images.Count == 0 ? "the build was not verified: see the attempt's end for why"
            : $"{b.Images.Count} image(s) rejected: see the attempt's end for why",
        TargetMoved t => $"target moved to {Short(t.TargetSha)} (rebased onto {Short(t.RebasedOnto)})",
        CiTimedOut c => c.PipelineId is { } id ? $"pipeline {id} timed out" : "CI timed out",
        RebaseStopped r => r.Facts.State != "opened" ? $"the merge request was {r.Facts.State} during the rebase" : $"rebase conflict: {r.Facts.MergeError}",
        RewritePlanned r => $"rebase by our git onto {r.OntoSha[..Math.Min(12, r.OntoSha.Length)]} with {string.Join(", ", r.Trailers.Select(t => t.Key).Distinct())}",
        RewriteFailed r => $"our rebase was not pushed ({r.Kind}): {r.Message}",
        ApprovalResetObserved a => a.Outcome switch
        {
            ApprovalResetOutcome.Waiting => $"after our push GitLab still lists every approver: waiting up to {a.WaitSeconds} s for it to remove the approvals",
            ApprovalResetOutcome.Kept => $"GitLab still listed every approver {(a.At - a.Since).TotalSeconds:0} s after our push: the approvals are taken as kept",
            ApprovalResetOutcome.Lapsed => $"approvals were first seen gone {(a.At - a.Since).TotalSeconds:0} s after our push, past the {a.WaitSeconds} s wait: " +
                "nobody is approved for again (an approver may have withdrawn)",
            _ => $"GitLab removed {a.Reapprove.Count} approval(s) after our push: approving again as {string.Join(", ", a.Reapprove)}",
        },
        ReapprovalChecked r => r.Allowed ? $"may approve again as {r.Reapprove.Count} approver(s) after the push: {r.Reason}" : $"may not approve again as the approvers: {r.Reason}",
        TrainCarAssigned t => t.Seat.CarId is { } car
            ? $"{car}, car {t.Seat.Position} of the merge train of `{t.Seat.Branch}`" + (t.Seat.Ahead.Count > 0 ? $" on top of {string.Join(", ", t.Seat.Ahead.Select(i => $"!{i}"))}" : "") + $": {t.Reason}"
            : $"out of its car in the merge train of `{t.Seat.Branch}`: {t.Reason}",
        TrainCarAnnounced t => $"{t.CarId} announced on the merge request (note {t.NoteId})",
        TrainCarAtHead t => $"{t.Seat.CarId} reached the head of the merge train: every car ahead landed",
        TrainCarRejected t => $"the merge train took it out: {t.Seat.Rejected}",
        TrainMergePreviewed t => t.Equal
            ? $"the merge GitLab will make onto {t.TargetHead} has the tested tree {t.TestedTree}: it may merge"
            : $"the merge GitLab would make onto {t.TargetHead} is {t.MergedTree ?? "a conflict"}, not the tested tree {t.TestedTree}",
        TrainCarLandingChecked t => t.Equal
            ? $"merge commit {t.MergeCommit} has the tested tree {t.TestedTree}"
            : $"merge commit {t.MergeCommit} has the tree {t.LandedTree}, not the tested {t.TestedTree}: the merge train stops",
        TrainCarsAheadChecked t => t.Refused is { } why
            ? $"waits before its {t.Checkpoint.ToString().ToLowerInvariant()}: {why}"
            : $"every car ahead's requester may still merge, before its {t.Checkpoint.ToString().ToLowerInvariant()}",
        TrainBranchUpdated t => $"{t.Purpose.Replace('_', ' ')} `{t.Branch}`: {t.Outcome}" + (t.Actual is { } a ? $" (it is at {a})" : ""),
        TrainCarImagesSeen t => string.Join("; ", t.Pushed.Select(p => $"our pipeline pushed {p.Tag} as {p.Digest} for the merge train")
            .Concat(t.Failed.Select(f => $"the build of {f} failed in our pipeline"))),
        TrainBumpsObserved b => b.Bumps.Count == 0 ? $"its head {Short(b.HeadSha)} bumps no image tag of the target's {Short(b.TargetSha)}"
            : $"its head {Short(b.HeadSha)} bumps {string.Join(", ", b.Bumps)} (the target {Short(b.TargetSha)} names {string.Join(", ", b.Reads.Select(r => $"{r.Name}:{r.TargetTag ?? "none"}"))})",
        MergeEmbargoed m => m.Until == m.At ? "the embargo no longer applies (the policy changed): merging now" : $"embargoed until {m.Until:u}",
        FinishingAbandoned f => $"what was left after the attempt was given up: {f.Reason}" +
            (f.LeftBehind.Count > 0 ? $"; not taken back: {string.Join(", ", f.LeftBehind)} (delete by hand)" : ""),
        StepErrored x => $"{x.Source} refused ({x.Status}, {x.Count} of {WorkflowRules.UnhealableLimit}): {x.Message}",
        StepTimedOut t => $"{t.Step.ToWireName()} made no progress for {t.Clock.StepTimeoutMinutes} minutes",
        ImagePromoted p => $"{p.Name}:{p.Tag} promoted to {p.Repository}",
        PromotionUndone p => $"{p.Name}:{p.Tag} promotion undone",
        UpstreamTagTaken t => $"{t.Repository}:{t.Tag} already holds another image; not overwritten",
        MergeRefused m => $"GitLab refused the merge ({m.StatusCode}): {m.Message}",
        Merged m => $"merged as {Short(m.MergeCommitSha)}",
        MergedElsewhere m => $"merged by {m.MergedBy ?? "someone else"}" + (m.MergeCommitSha is { } sha ? $" as {Short(sha)}" : "") + ": our attempt stops",
        OutcomeNoted n => $"outcome noted on the merge request (note {n.NoteId})",
        AttemptFailed f => $"failed while {f.FailedIn.ToWireName()}: {f.Reason}",
        AttemptCancelled c => $"cancelled by {c.CancelledBy}: {c.Reason}",
        _ => e.GetType().Name,
    };

    private static IReadOnlyList<TimelineFact> Facts(IWorkflowEvent e) => e switch
    {
        Rebased r => [new("rebased sha", r.RebasedSha), new("target sha", r.TargetSha)],
        FreshnessChecked f => [.. f.Images.Select(i => new TimelineFact(
            $"{i.Name}:{i.Tag}", $"{i.Verdict.ToString().ToLowerInvariant()} — {i.Reason}" + (i.FdoCommit is { } c ? $" (fdo.commit {Short(c)})" : "")))],
        PipelineCreated p => [new("pipeline", p.PipelineId.ToString(CultureInfo.InvariantCulture)), new("forced rebuild", p.ForcedRebuild ? "yes" : "no")],
        BuildVerified { Evidence: { } ev } b => [.. b.Images.Select(Built), .. JobsRanOn(ev)],
        BuildRejected { Evidence: { } ev } b => [.. b.Images.Select(Built), .. JobsRanOn(ev)],
        BuildVerified b => [.. b.Images.Select(Built)],
        BuildRejected b => [.. b.Images.Select(Built)],
        ImagePromoted p => [new("digest", p.Digest), new("repository", p.Repository)],
        PromotionUndone p => [new("digest", p.Digest)],
        UpstreamTagTaken t => [new("digest", t.Digest)],
        RegistryTampered { Restores: { } restores } => [.. restores.Select(r => new TimelineFact($"{r.Repository}:{r.Tag}",
            r.Before is { } before ? $"to be restored to {before}" : "to be deleted: it was absent before our pipeline"))],
        RegistryTagRestored r => [new("found", r.Found ?? "nothing"), new("after", r.After ?? "nothing")],
        Merged m => [new("merge commit", m.MergeCommitSha)],
        PermissionChecked { Observation: { } o } p => [
            new("requester", p.Requester?.ToString() ?? "unknown"),
            new("role", o.UserId is null ? "unknown user" : MergePermission.RoleName(o.AccessLevel)),
            new("protected branch rules", o.Rules.Count == 0 ? "none" : string.Join("; ", o.Rules.Select(MergePermission.Describe)))],
        _ => [],
    };

    /// <summary>The digest each job ran on, as the runner reported it.</summary>
    private static IEnumerable<TimelineFact> JobsRanOn(VerificationEvidence ev) =>
        ev.Jobs.Select(j => new TimelineFact($"job {j.Name}",
            j.RunnerLines.Count == 0 ? $"{j.Status}; the runner reported no image" : $"{j.Status} on " + string.Join(", ", j.RunnerLines.Select(l => $"{l.Image}@{l.Digest}"))));

    private static string Trigger(TriggerKind trigger) => trigger switch
    {
        TriggerKind.Api => "API",
        TriggerKind.Assignment => "assigned the bot",
        TriggerKind.Label => "added the trigger label",
        TriggerKind.Note => "/merge note",
        TriggerKind.ReconciledAssignment => "assignment found by reconciliation",
        _ => "label found by reconciliation",
    };

    private static TimelineFact Built(BuiltImage i) =>
        new($"{i.Name}:{i.Tag}", $"{i.Digest} (fdo.commit {Short(i.LabelCommit)}, fdo.pipeline_id {i.LabelPipelineId?.ToString(CultureInfo.InvariantCulture) ?? "?"})");
}
