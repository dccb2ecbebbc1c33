using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;

namespace Orchestrator.Workflow;

/// <summary>
/// The thin shell around the decider: for the workflow's current state it performs the one effect that state
/// calls for (a GitLab or registry call), and returns the command that records what it saw. Every effect is
/// idempotent or looked up before it is repeated, because the silo can die between doing and recording.
/// </summary>
public sealed class WorkflowDriver(IGitLabClient gitlab, IImageRegistry registry, IGrainFactory grains,
    Persistence.PipelineWatches watches, PermissionObserver permissions, TargetPipeline target, PolicyStore policies,
    PolicySuggester suggester, IOptions<OrchestratorOptions> options, ILogger<WorkflowDriver> logger)
{
    public const string AttemptVariable = "ORCHESTRATOR_ATTEMPT";

    public async Task<StepResult> StepAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now,
        StepMemo memo, CancellationToken ct = default)
    {
        var mr = await gitlab.GetMergeRequestAsync(key.ProjectId, key.Iid, ct);
        // Merged by someone else meanwhile: a success, not a complaint. While merging, a merge by the bot (or by no one
        // GitLab names) is ours, done before a crash.
        if (s.IsActive && mr.State == "merged" && !(s.State == WorkflowState.Merging && !MergedByOther(mr)))
            return StepResult.Of(new RecordMergedElsewhere(mr.MergeCommitSha, mr.MergedBy?.Username, now));
        return s.State switch
        {
            WorkflowState.Queued => await QueuedAsync(key, s, mr, policy, now, memo, ct),
            WorkflowState.Rebasing => await RebasingAsync(key, s, mr, policy, now, memo, ct),
            WorkflowState.Checking => await CheckingAsync(s, mr, policy, now, memo, ct),
            WorkflowState.Building => await BuildingAsync(key, s, mr, policy, now, ct),
            WorkflowState.Verifying => await VerifyingAsync(key, s, mr, policy, now, memo, ct),
            WorkflowState.Promoting => await PromotingAsync(key, s, mr, policy, now, memo, ct),
            WorkflowState.Merging => await MergingAsync(key, s, mr, policy, now, memo, ct),
            _ => await FinishAsync(key, s, mr, policy, now, ct),
        };
    }

    private async Task<StepResult> QueuedAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        // Whoever asked must be allowed to merge before the bot does anything for them, even queue.
        if (await CheckPermission(PermissionCheckpoint.Request, key, s, mr, policy, now, ct) is { } check) return check;
        if (await UncheckedImages(key, s, mr, policy, memo, ct) is { } suggested)
            return StepResult.Of(new Fail(
                "this project builds CI images with ci-templates but has no image policy, so nothing would check them. " +
                $"A maintainer can store this suggested policy (`PUT /api/v1/projects/{key.ProjectId}/policy`), then ask again:\n\n" +
                "```json\n" + System.Text.Json.JsonSerializer.Serialize(suggested, SuggestionJson) + "\n```\n", now));
        if (await PreconditionFailure(mr, policy, ct) is { } reason) return StepResult.Of(new Fail(reason, now));
        var queue = grains.GetGrain<IMergeQueueGrain>(QueueKey(key, s, mr));
        var order = policy.MergeOrder == "created_at" ? mr.CreatedAt ?? now : s.AttemptStartedAt ?? now;
        return await queue.TryAcquire(key.Iid, order) ? StepResult.Of(new StartRebase(now)) : StepResult.Waiting("another merge request holds the target branch");
    }

    private async Task<StepResult> RebasingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        if (mr.State != "opened") return StepResult.Of(new Fail($"the merge request was {mr.State} while we were rebasing it", now));
        if (mr.RebaseInProgress == true) return StepResult.Waiting("GitLab is rebasing");
        var targetHead = await gitlab.BranchHeadAsync(mr.TargetProjectId, mr.TargetBranch, ct)
            ?? throw new InvalidOperationException($"target branch {mr.TargetBranch} is gone");
        var onTop = mr.Sha is not null && mr.DiffRefs?.BaseSha == targetHead;
        if (memo.RebaseRequested == (s.Attempt, s.Rebases))
        {
            if (!string.IsNullOrEmpty(mr.MergeError) && !onTop) return StepResult.Of(new Fail($"Merge conflict: {mr.MergeError}", now));
            return onTop ? StepResult.Of(new RecordRebase(mr.Sha!, targetHead, now)) : StepResult.Waiting("the rebase has not landed yet");
        }
        // Already on top of the target (or rebased before a restart): GitLab would change nothing.
        if (onTop) return StepResult.Of(new RecordRebase(mr.Sha!, targetHead, now));
        if (await CheckPermission(PermissionCheckpoint.Rebase, key, s, mr, policy, now, ct) is { } check) return check;
        // Rebasing with skip_ci: our own pipeline, with our variables, is the one that counts.
        await gitlab.RebaseAsync(key.ProjectId, key.Iid, skipCi: true, ct);
        memo.RebaseRequested = (s.Attempt, s.Rebases);
        return StepResult.Waiting("rebase requested");
    }

    private async Task<StepResult> CheckingAsync(MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy, DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        var rebased = s.RebasedSha!;
        var target = s.TargetSha!;
        var source = mr.SourceProjectId;
        var sourcePath = await SourcePathAsync(mr, memo, ct);
        var changedByMr = await gitlab.ChangedPathsAsync(source, target, rebased, ct);
        var assessments = new List<ImageAssessment>();
        foreach (var image in policy.Images)
        {
            var tag = Freshness.ReadTag(await gitlab.GetRawFileAsync(source, image.TagFile, rebased, ct), image.TagKey);
            if (tag is null) return StepResult.Of(new Fail($"cannot read {image.TagKey} from {image.TagFile} at {rebased}", now));
            var targetTag = Freshness.ReadTag(await gitlab.GetRawFileAsync(mr.TargetProjectId, image.TagFile, target, ct), image.TagKey);
            var upstream = await registry.InspectAsync($"{policy.UpstreamRepo!.ToLowerInvariant()}/{image.Name}", tag, ct);
            var upstreamInTarget = upstream?.Commit is { } uc && await gitlab.MergeBaseAsync(mr.TargetProjectId, uc, target, ct) == uc;
            // A fork's registry is writable by its owner at any moment: for a fork MR it is never read.
            var sourceImage = IsFork(mr) ? null : await registry.InspectAsync($"{sourcePath}/{image.Name}", tag, ct);
            bool ancestor = false, changedSince = true, provenance = false;
            if (sourceImage?.Commit is { } commit)
            {
                ancestor = await gitlab.MergeBaseAsync(source, target, commit, ct) == target;
                changedSince = Freshness.TouchesInputs(image, await gitlab.ChangedPathsAsync(source, commit, rebased, ct));
                provenance = await ProvenanceConfirmed(source, sourceImage, ct);
            }
            assessments.Add(Freshness.Assess(new ImageObservation(image.Name, tag, targetTag, Freshness.TouchesInputs(image, changedByMr),
                upstream, upstreamInTarget, sourceImage, ancestor, changedSince, provenance)));
        }
        return StepResult.Of(new RecordFreshness(assessments, policy.AllowUnbumpedInputs, now));
    }

    /// <summary>Labels are claims; GitLab confirms them: that job of that pipeline built that commit, and succeeded.</summary>
    private async Task<bool> ProvenanceConfirmed(long project, RegistryImage image, CancellationToken ct)
    {
        if (image.JobId is not { } jobId || image.PipelineId is not { } pipelineId) return false;
        var job = await gitlab.GetJobAsync(project, jobId, ct);
        return job is not null && job.Status == "success" && job.Pipeline.Id == pipelineId
            && (job.Commit?.Id ?? job.Pipeline.Sha) == image.Commit;
    }

    private async Task<StepResult> BuildingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, CancellationToken ct)
    {
        var source = s.PipelineProjectId ?? mr.SourceProjectId;
        if (s.PipelineId is null && IsFork(mr)) return await StartInTargetAsync(key, s, mr, policy, now, ct);
        if (s.PipelineId is not { } pipelineId)
        {
            var marker = $"{key}#{s.Attempt}.{s.Rebases}";
            // Never two pipelines for one attempt: a pipeline created before a crash carries our marker.
            foreach (var candidate in await gitlab.ListPipelinesAsync(source, mr.SourceBranch, s.RebasedSha!, ct))
            {
                var variables = await gitlab.GetPipelineVariablesAsync(source, candidate.Id, ct);
                if (variables.Any(v => v.Key == AttemptVariable && v.Value == marker))
                {
                    await watches.WatchAsync(source, candidate.Id, key, ct);
                    return StepResult.Of(new RecordPipeline(candidate.Id, candidate.Sha, variables.Any(v => v.Key == "FDO_FORCE_REBUILD"), now));
                }
            }
            if (mr.Sha != s.RebasedSha) return StepResult.Of(new Fail(WorkflowDecider.SomeonePushed, now));
            // The project's own registry is where the pipeline pushes: snapshot it to see anything else the MR's code changed.
            if (policy.Images.Count > 0 && s.Guard is null)
                return StepResult.Of(new RecordPipelinePrepared(await target.SnapshotAsync(policy, ct), [], now));
            if (await CheckPermission(PermissionCheckpoint.Pipeline, key, s, mr, policy, now, ct) is { } check) return check;
            var vars = new Dictionary<string, string> { [AttemptVariable] = marker };
            var forced = Force(s, policy, vars);
            var created = await gitlab.CreatePipelineAsync(source, mr.SourceBranch, vars, ct);
            if (options.Value.Workflow.CrashPoint == "after-pipeline-created")
                Environment.FailFast($"fault injection: pipeline {created.Id} created, not recorded");
            if (created.Sha != s.RebasedSha)
            {
                await gitlab.CancelPipelineAsync(source, created.Id, ct);
                return StepResult.Of(new Fail(WorkflowDecider.SomeonePushed, now));
            }
            await watches.WatchAsync(source, created.Id, key, ct);
            return StepResult.Of(new RecordPipeline(created.Id, created.Sha, forced, now));
        }
        // Notice at once what makes our running pipeline pointless: the MR closed, made a draft, or pushed to by someone.
        if (mr.State != "opened") return StepResult.Of(new Fail($"the merge request is {mr.State}", now));
        if (mr.Draft) return StepResult.Of(new Fail("Sorry, I can't merge requests marked as Draft!", now));
        if (mr.Sha != s.RebasedSha) return StepResult.Of(new Fail(WorkflowDecider.SomeonePushed, now));
        var pipeline = await gitlab.GetPipelineAsync(source, pipelineId, ct);
        // A pipeline at `manual` can sit there forever: name the jobs it waits on, for the decider to judge.
        IReadOnlyList<string>? manual = pipeline.Status == "manual"
            ? [.. (await gitlab.ListPipelineJobsAsync(source, pipeline.Id, ct)).Where(j => j.Status == "manual").Select(j => j.Name)]
            : null;
        return StepResult.Of(new ObservePipeline(pipeline.Id, pipeline.Status, now, manual, policy.ManualJobs, policy.SkippedPipelines));
    }

    /// <summary>
    /// A fork MR's pipeline runs in the target project, where its jobs push only to the target's registry: stale tags
    /// deleted and the registry snapshotted first (recorded), then the pipeline created for exactly the rebased SHA.
    /// </summary>
    private async Task<StepResult> StartInTargetAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, CancellationToken ct)
    {
        // No FDO_FORCE_REBUILD can reach this pipeline (the endpoint takes no variables): stale tags are deleted instead.
        const bool forced = false;
        if (await target.FindAsync(key, s, ct) is { } found)
        {
            await watches.WatchAsync(key.ProjectId, found.Id, key, ct);
            return StepResult.Of(new RecordPipeline(found.Id, found.Sha, forced, now, key.ProjectId));
        }
        if (s.Guard is null)
        {
            var deleted = await target.DeleteStaleAsync(key, s, policy, ct);
            return StepResult.Of(new RecordPipelinePrepared(await target.SnapshotAsync(policy, ct), deleted, now));
        }
        // The endpoint takes no SHA and runs the source head at that moment: check it right before and right after.
        if (mr.Sha != s.RebasedSha) return StepResult.Of(new Fail(WorkflowDecider.SomeonePushed, now));
        if (await CheckPermission(PermissionCheckpoint.Pipeline, key, s, mr, policy, now, ct) is { } check) return check;
        var created = await gitlab.CreateMergeRequestPipelineAsync(key.ProjectId, key.Iid, ct);
        if (created.ProjectId != key.ProjectId)
        {
            // The bot is rarely a member of the fork: a pipeline it cannot cancel there is left to the fork's owner.
            var cancelled = await TryCancelAsync(created, ct);
            return StepResult.Of(new Fail($"GitLab ran the merge request pipeline in the fork (project {created.ProjectId}, pipeline {created.Id}" +
                (cancelled ? ", cancelled" : ", which I cannot cancel there") + "), where its owner controls the runners and the registry; " +
                "nothing from it counts. Let fork merge request pipelines run in this project (Settings → CI/CD → General pipelines) and ask again.", now));
        }
        if (created.Sha != s.RebasedSha)
        {
            await gitlab.CancelPipelineAsync(created.ProjectId, created.Id, ct);
            return StepResult.Of(new Fail($"{WorkflowDecider.SomeonePushed}: pipeline {created.Id} runs {created.Sha}, " +
                $"not the rebased {s.RebasedSha}; it was cancelled", now));
        }
        await watches.WatchAsync(key.ProjectId, created.Id, key, ct);
        return StepResult.Of(new RecordPipeline(created.Id, created.Sha, forced, now, key.ProjectId));
    }

    private static bool IsFork(GitLabMergeRequest mr) => mr.SourceProjectId != mr.TargetProjectId;

    private static readonly System.Text.Json.JsonSerializerOptions SuggestionJson = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// A project with no stored or configured policy whose CI (on the target branch) builds ci-templates images: the
    /// policy it suggests. Projects without images keep working with no policy.
    /// </summary>
    private async Task<ProjectPolicy?> UncheckedImages(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        StepMemo memo, CancellationToken ct)
    {
        if (policy.Images.Count > 0) return null;
        if (memo.Unchecked is { } known && known.Attempt == s.Attempt) return known.Suggested;
        ProjectPolicy? suggested = null;
        if (!await policies.IsConfiguredAsync(key.ProjectId, ct) && await gitlab.BranchHeadAsync(key.ProjectId, mr.TargetBranch, ct) is { } head)
            suggested = (await suggester.AtAsync(key.ProjectId, head, ct)).Policy;
        memo.Unchecked = (s.Attempt, suggested);
        return suggested;
    }

    private bool MergedByOther(GitLabMergeRequest mr) =>
        mr.MergedBy is { } by && !string.Equals(by.Username, options.Value.GitLab.BotUsername, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Forcing is for stale images only (ci-templates builds a missing one anyway): through the image's own
    /// <c>forceVariable</c> where the policy names one, else <c>FDO_FORCE_REBUILD</c> for the whole pipeline.
    /// </summary>
    private static bool Force(MergeRequestWorkflow s, ProjectPolicy policy, Dictionary<string, string> variables)
    {
        var stale = s.Images.Where(i => i.Verdict == FreshnessVerdict.Stale).ToList();
        foreach (var image in stale)
        {
            if (policy.Images.FirstOrDefault(p => p.Name == image.Name)?.ForceVariable is { Length: > 0 } own) variables[own] = "1";
            else variables["FDO_FORCE_REBUILD"] = "1";
        }
        return stale.Count > 0;
    }

    /// <summary>Cancels this attempt's pipeline if it is still running; true when it was (a finished one is left as it is).</summary>
    private async Task<bool> StopOurPipelineAsync(MergeRequestWorkflow s, GitLabMergeRequest mr, CancellationToken ct)
    {
        if (s.PipelineId is not { } ours) return false;
        var pipeline = await gitlab.GetPipelineAsync(s.PipelineProjectId ?? mr.SourceProjectId, ours, ct);
        if (PipelineStatus.Classify(pipeline.Status) != PipelineOutcome.Running) return false;
        await TryCancelAsync(pipeline, ct);
        return true;
    }

    private async Task<bool> TryCancelAsync(GitLabPipeline pipeline, CancellationToken ct)
    {
        try
        {
            await gitlab.CancelPipelineAsync(pipeline.ProjectId, pipeline.Id, ct);
            return true;
        }
        catch (GitLabException e) when (e.Status is 401 or 403 or 404)
        {
            return false;
        }
    }

    private async Task<StepResult> VerifyingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        var targetHead = await gitlab.BranchHeadAsync(mr.TargetProjectId, mr.TargetBranch, ct)
            ?? throw new InvalidOperationException($"target branch {mr.TargetBranch} is gone");
        // Ours ran in the target project (a fork MR's) or in the project itself (a same-project MR's): either way the
        // images are established from what its jobs ran on, never read through a tag.
        if (policy.Images.Count > 0 && (!IsFork(mr) || s.PipelineProjectId == key.ProjectId))
            return StepResult.Of(new RecordVerification(targetHead, [], policy.MaxRebases, now, await target.EvidenceAsync(key, s, policy, ct)));
        var sourcePath = await SourcePathAsync(mr, memo, ct);
        var built = new List<BuiltImage>();
        foreach (var image in s.Images.Where(i => s.ForcedRebuild && i.Verdict.NeedsRebuild()))
            if (await registry.InspectAsync($"{sourcePath}/{image.Name}", image.Tag, ct) is { } found)
                built.Add(new BuiltImage(image.Name, image.Tag, found.Digest, found.Commit, found.PipelineId));
        return StepResult.Of(new RecordVerification(targetHead, built, policy.MaxRebases, now));
    }

    private async Task<StepResult> PromotingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        if (await PreconditionFailure(mr, policy, ct) is { } reason) return StepResult.Of(new Fail(reason, now));
        if (mr.Sha != s.RebasedSha) return StepResult.Of(new Fail(WorkflowDecider.SomeonePushed, now));
        var next = s.BuiltImages.FirstOrDefault(b => !s.Promotions.Any(p => p.Attempt == s.Attempt && p.Name == b.Name && p.Tag == b.Tag && p.Digest == b.Digest));
        if (next is null) return StepResult.Waiting("every built image is promoted");
        // Publishing upstream is done with the bot's rights: the requester may have lost theirs during the build.
        if (await CheckPermission(PermissionCheckpoint.Promote, key, s, mr, policy, now, ct) is { } check) return check;
        var upstreamRepo = policy.UpstreamRepo!.ToLowerInvariant();
        var target = $"{upstreamRepo}/{next.Name}";
        var existing = await registry.InspectAsync(target, next.Tag, ct);
        if (existing is not null && existing.Digest != next.Digest && !s.Promotions.Any(p => p.Name == next.Name && p.Tag == next.Tag && p.Digest == existing.Digest))
            return StepResult.Of(new Fail($"{target}:{next.Tag} already exists upstream as {existing.Digest}; it is never overwritten. Bump the tag.", now));
        var sourcePath = await SourcePathAsync(mr, memo, ct);
        var digest = await registry.CopyAsync($"{sourcePath}/{next.Name}", next.Digest, target, next.Tag, ct);
        if (digest != next.Digest) return StepResult.Of(new Fail($"promoting {next.Name}:{next.Tag} produced {digest}, not the verified {next.Digest}", now));
        logger.LogInformation("{MergeRequest}: promoted {Image}:{Tag} as {Digest}", key, next.Name, next.Tag, digest);
        return StepResult.Of(new RecordPromotion(next.Name, next.Tag, digest, upstreamRepo, now));
    }

    private async Task<StepResult> MergingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        // A merge call that succeeded before a crash: GitLab already says merged.
        if (mr.State == "merged") return StepResult.Of(new RecordMerge(mr.MergeCommitSha ?? mr.Sha!, now));
        if (await PreconditionFailure(mr, policy, ct) is { } reason) return StepResult.Of(new Fail(reason, now));
        if (mr.Sha != s.RebasedSha) return StepResult.Of(new Fail(WorkflowDecider.SomeonePushed, now));
        if (mr.DetailedMergeStatus is "checking" or "unchecked" || mr.MergeStatus is "checking" or "unchecked")
        {
            if (++memo.StillChecking > options.Value.Workflow.MaxStillChecking)
                return StepResult.Of(new Fail("GitLab kept checking mergeability; try again later", now));
            return StepResult.Waiting("GitLab is still checking mergeability");
        }
        // The merge makes the tag's image main's: it must still be the one our jobs ran on.
        if (s.Guard is not null && await target.MovedSinceVerifiedAsync(s, policy, ct) is { Count: > 0 } moved)
            return StepResult.Of(new Fail("The images changed after our tests ran on them: " + string.Join("; ", moved) + ".", now));
        if (await CheckPermission(PermissionCheckpoint.Merge, key, s, mr, policy, now, ct) is { } check) return check;
        try
        {
            var merged = await gitlab.MergeAsync(key.ProjectId, key.Iid, s.RebasedSha!, ct);
            return StepResult.Of(new RecordMerge(merged.MergeCommitSha ?? merged.Sha ?? s.RebasedSha!, now));
        }
        catch (GitLabException e) when (e.Status is 401 or 405 or 406 or 409 or 422)
        {
            // GitLab checks 401 → 405 → 422 → 409, so a stale sha can surface as 405 or 422: look before classifying.
            var after = await gitlab.GetMergeRequestAsync(key.ProjectId, key.Iid, ct);
            if (after.State == "merged") return StepResult.Of(new RecordMerge(after.MergeCommitSha ?? after.Sha!, now));
            var targetHead = await gitlab.BranchHeadAsync(after.TargetProjectId, after.TargetBranch, ct);
            var refusal =
                after.Sha != s.RebasedSha || e.Status == 409 ? MergeRefusal.SourceChanged
                : targetHead != s.TargetSha ? MergeRefusal.TargetMoved
                : after.DetailedMergeStatus is "checking" or "unchecked" ? MergeRefusal.StillChecking
                : MergeRefusal.NotMergeable;
            return StepResult.Of(new RecordMergeRefusal(e.Status, e.GitLabMessage, refusal, policy.MaxRebases, now));
        }
    }

    private async Task<StepResult> FinishAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, CancellationToken ct)
    {
        if (s.State is WorkflowState.Failed or WorkflowState.Cancelled && s.Promotions.FirstOrDefault() is { } promotion)
        {
            // The merge did not happen: take the promoted image back, unless the tag has since moved on.
            var repository = $"{promotion.Repository}/{promotion.Name}";
            if (await registry.InspectAsync(repository, promotion.Tag, ct) is { } current && current.Digest == promotion.Digest)
                await registry.DeleteAsync(repository, promotion.Digest, ct);
            return StepResult.Of(new RecordPromotionUndone(promotion.Name, promotion.Tag, promotion.Digest, now));
        }
        // The attempt ended without our merge: our pipeline tests something that no longer matters, so it is stopped.
        var stopping = s.State != WorkflowState.Completed && s.OutcomeNoteId is null && await StopOurPipelineAsync(s, mr, ct);
        if (s.State != WorkflowState.Completed && s.PendingCleanup.FirstOrDefault() is { } built)
        {
            // A cancel is asynchronous and a stopping pipeline may still push: clean up only once it has stopped.
            if (stopping) return StepResult.Waiting($"pipeline {s.PipelineId} is stopping before its images are cleaned up");
            // The merge did not happen: an image our pipeline built upstream must not be reused by anyone's pipeline.
            var deleted = await target.CleanUpAsync(key, mr, built, policy, ct);
            return StepResult.Of(new RecordUpstreamCleanup(built.Name, built.Tag, deleted, now));
        }
        await grains.GetGrain<IMergeQueueGrain>(QueueKey(key, s, mr)).Release(key.Iid);
        if (s.OutcomeNoteId is not null || s.State == WorkflowState.None) return StepResult.Finished;

        var marker = $"<!-- orchestrator {key} attempt {s.Attempt} -->";
        var existing = (await gitlab.ListNotesAsync(key.ProjectId, key.Iid, ct)).FirstOrDefault(n => n.Body.Contains(marker));
        if (existing is not null) return StepResult.Of(new RecordNote(existing.Id, now));
        if (s.State == WorkflowState.Failed && mr.State == "opened")
            await gitlab.AssignAsync(key.ProjectId, key.Iid, [mr.Author.Id], ct); // back to the author, as marge-bot does
        var undone = s.State == WorkflowState.Refused && mr.State == "opened" ? await UndoTriggerAsync(key, s.Requester, mr, policy, ct) : null;
        var note = await gitlab.PostNoteAsync(key.ProjectId, key.Iid, OutcomeNote(s, mr, undone) + "\n\n" + marker, ct);
        return StepResult.Of(new RecordNote(note.Id, now));
    }

    /// <summary>
    /// Takes back what made the bot act for someone who may not merge, so it is not retried by reconciliation.
    /// Both edits are idempotent (a label already gone, the bot already unassigned change nothing).
    /// </summary>
    private async Task<string?> UndoTriggerAsync(MergeRequestKey key, Requester? requester, GitLabMergeRequest mr, ProjectPolicy policy, CancellationToken ct)
    {
        // An API call or a note leaves nothing on the MR to take back.
        if (requester?.Trigger is null or TriggerKind.Api or TriggerKind.Note) return null;
        var bot = options.Value.GitLab.BotUsername;
        // Both triggers go, whichever fired: a label added in the same edit as a refused assignment would otherwise
        // leave the MR looking queued, and bring it back at the next reconciliation.
        var undone = new List<string>();
        var assignees = mr.Assignees ?? [];
        if (assignees.Any(a => string.Equals(a.Username, bot, StringComparison.OrdinalIgnoreCase)))
        {
            var others = assignees.Where(a => !string.Equals(a.Username, bot, StringComparison.OrdinalIgnoreCase)).Select(a => a.Id).ToList();
            // GitLab reads assignee_ids=[0] as "nobody".
            await gitlab.AssignAsync(key.ProjectId, key.Iid, others.Count > 0 ? others : [0], ct);
            undone.Add("unassigned myself");
        }
        if (policy.TriggerLabel is { } label && (mr.Labels ?? []).Contains(label))
        {
            await gitlab.RemoveLabelAsync(key.ProjectId, key.Iid, label, ct);
            undone.Add($"removed the ~\"{label}\" label");
        }
        return undone.Count > 0 ? string.Join(" and ", undone) : null;
    }

    private static string OutcomeNote(MergeRequestWorkflow s, GitLabMergeRequest mr, string? undone) => s.State switch
    {
        WorkflowState.Refused =>
            $"{Addressee(s.Requester, mr)}, I can't merge this merge request for you: {s.Outcome}." +
            (undone is null ? "" : $" I have {undone}.") +
            (s.Outcome?.Contains("commands by note", StringComparison.Ordinal) == true
                ? " Assign me instead, or ask someone the project lists to command merges."
                : $" Only someone who may merge into `{mr.TargetBranch}` can ask me to merge it: ask one of them."),
        WorkflowState.Completed =>
            $"Merged as {s.MergeCommitSha}: pipeline {s.PipelineId} passed on the rebased commit {s.RebasedSha}." +
            (s.Promotions.Count > 0 ? " Promoted: " + string.Join(", ", s.Promotions.Select(p => $"{p.Repository}/{p.Name}:{p.Tag}@{p.Digest}")) + "."
             : s.BuiltImages.Count > 0 ? " Tested on, and now main's: " + string.Join(", ", s.BuiltImages.Select(b => $"{b.Name}:{b.Tag}@{b.Digest}")) + "." : ""),
        WorkflowState.Cancelled => $"Merge cancelled: {s.Outcome}.",
        WorkflowState.MergedElsewhere => $"This merge request was {s.Outcome} while I was working on it, so I stopped" +
            (s.PipelineId is { } p ? $" (my pipeline {p} is cancelled if it was still running)." : "."),
        _ => $"I couldn't merge this merge request: {s.Outcome}\n\n" +
             "Fix what is said above, then ask again (assign me, or enqueue it through the orchestrator's API).",
    };

    /// <summary>Who a refusal is addressed to: the requester by name, or the author when an open hook named only their id.</summary>
    private static string Addressee(Requester? requester, GitLabMergeRequest mr) =>
        requester is { Username: null, UserId: { } id } && id == mr.Author.Id ? $"@{mr.Author.Username}" : requester?.Display ?? "Hello";

    private async Task<string?> PreconditionFailure(GitLabMergeRequest mr, ProjectPolicy policy, CancellationToken ct)
    {
        if (mr.State != "opened") return $"the merge request is {mr.State}";
        if (mr.Draft) return "Sorry, I can't merge requests marked as Draft!";
        if (mr.HasConflicts) return "the merge request has conflicts with the target branch";
        if (!mr.BlockingDiscussionsResolved) return "Merge request has unresolved discussions";
        if (mr.SourceProjectId != mr.TargetProjectId && mr.AllowCollaboration != true)
            return "this fork merge request does not allow commits from members who can merge to the target branch";
        var approvals = await gitlab.GetApprovalsAsync(mr.TargetProjectId, mr.Iid, ct);
        var given = approvals.ApprovedBy?.Count ?? 0;
        if (approvals.ApprovalsLeft > 0 || given < policy.RequiredApprovals)
            return $"Insufficient approvals (have: {given}, need: {Math.Max(policy.RequiredApprovals, approvals.ApprovalsRequired)})";
        return null;
    }

    /// <summary>
    /// Before each effect done with the bot's rights (queueing, rebasing, running the MR's code, merging), once per
    /// checkpoint and rebase: GitLab's view of the requester, for the decider to judge and record.
    /// </summary>
    private async Task<StepResult?> CheckPermission(PermissionCheckpoint checkpoint, MergeRequestKey key, MergeRequestWorkflow s,
        GitLabMergeRequest mr, ProjectPolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        if (s.PermissionChecked(checkpoint)) return null;
        var seen = await permissions.ObserveAsync(s.Requester, key.ProjectId, mr.TargetBranch, ct);
        return StepResult.Of(new RecordPermission(checkpoint, mr.TargetBranch, seen, policy.AllowedCommanders, now));
    }

    /// <summary>The source project's registry path; a project's path rarely changes, so one lookup per activation serves every step.</summary>
    private async Task<string> SourcePathAsync(GitLabMergeRequest mr, StepMemo memo, CancellationToken ct)
    {
        if (memo.SourcePath is { } known && known.Project == mr.SourceProjectId) return known.Path;
        var path = (await gitlab.GetProjectAsync(mr.SourceProjectId.ToString(), ct)).PathWithNamespace.ToLowerInvariant();
        memo.SourcePath = (mr.SourceProjectId, path);
        return path;
    }

    /// <summary>The queue of the branch the request was checked for (pinned then), so a retargeted MR releases what it held.</summary>
    private static string QueueKey(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr) =>
        new MergeQueueKey(key.ProjectId, s.TargetBranch ?? mr.TargetBranch).ToString();
}
