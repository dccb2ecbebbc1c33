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
public sealed partial class WorkflowDriver(IGitLabClient gitlab, IImageRegistry registry, IGrainFactory grains,
    Persistence.IPipelineWatches watches, PermissionObserver permissions, TargetPipeline target, IPolicyStore policies,
    PolicySuggester suggester, Adapters.Git.IGitWorker git, ReapprovalObserver reapprovals, IOptions<OrchestratorOptions> options,
    ILogger<WorkflowDriver> logger) : IWorkflowDriver
{
    public const string AttemptVariable = Markers.PipelineVariable;

    private readonly CarImagesObserver carImages = new(gitlab, registry, target);

    public bool Drives => true;

    public async Task<StepResult> StepAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now,
        StepMemo memo, CancellationToken ct = default)
    {
        var mr = await gitlab.GetMergeRequestAsync(key.ProjectId, key.Iid, ct);
        if (s.IsActive && mr.State == "merged") return StepResult.Of(Merged(mr, now));
        // Whatever ended a pipeline of ours (success, failure, cancel, a push, the timeout, a moved target, a withdrawn
        // request), the registry is read once it has stopped, before anything else: its jobs may have pushed and then failed.
        if (RegistryChecks.Due(s) is { } owed) return await RegistryAfterAsync(key, s, owed, mr, policy, now, ct);
        // An earlier pipeline's tampered tags are taken back before a new one is prepared (its snapshot would otherwise
        // record the planted digest as "before"); each restore is looked up first, so a repeat is harmless.
        if (s.IsActive && s.PipelineId is null && s.PendingRestores.FirstOrDefault() is { } earlier)
            return StepResult.Of(await target.RestoreAsync(key, earlier, now, ct));
        // A car hears from its train before anything else: a new car or base stops what the old one was doing.
        if (s.IsActive && s.State != WorkflowState.Queued && s.Car is not null && await TrainAsync(key, s, mr, policy, now, ct) is { } train) return train;
        // The observer of each step the table declares (WorkflowSteps); an ended attempt is finished off.
        return WorkflowSteps.Of(s.State) is { } step
            ? await Observers[step.State](this, new Step(key, s, mr, policy, now, memo), ct)
            : await FinishAsync(key, s, mr, policy, now, ct);
    }

    internal sealed record Step(MergeRequestKey Key, MergeRequestWorkflow S, GitLabMergeRequest Mr, ProjectPolicy Policy, DateTimeOffset Now, StepMemo Memo);

    /// <summary>One observer per row of <see cref="WorkflowSteps.Table"/> (a test holds the two to each other).</summary>
    internal static readonly IReadOnlyDictionary<WorkflowState, Func<WorkflowDriver, Step, CancellationToken, Task<StepResult>>> Observers =
        new Dictionary<WorkflowState, Func<WorkflowDriver, Step, CancellationToken, Task<StepResult>>>
        {
            [WorkflowState.Queued] = (d, x, ct) => d.QueuedAsync(x.Key, x.S, x.Mr, x.Policy, x.Now, x.Memo, ct),
            [WorkflowState.Rebasing] = (d, x, ct) => d.RebasingAsync(x.Key, x.S, x.Mr, x.Policy, x.Now, x.Memo, ct),
            [WorkflowState.Checking] = (d, x, ct) => d.CheckingAsync(x.S, x.Mr, x.Policy, x.Now, x.Memo, ct),
            [WorkflowState.Building] = (d, x, ct) => d.BuildingAsync(x.Key, x.S, x.Mr, x.Policy, x.Now, ct),
            [WorkflowState.Verifying] = (d, x, ct) => d.VerifyingAsync(x.Key, x.S, x.Mr, x.Policy, x.Now, x.Memo, ct),
            [WorkflowState.Promoting] = (d, x, ct) => d.PromotingAsync(x.Key, x.S, x.Mr, x.Policy, x.Now, x.Memo, ct),
            [WorkflowState.Merging] = (d, x, ct) => d.MergingAsync(x.Key, x.S, x.Mr, x.Policy, x.Now, x.Memo, ct),
        };

    private async Task<StepResult> QueuedAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        // Whoever asked must be allowed to merge before the bot does anything for them, even queue.
        if (await Checkpoint(PermissionCheckpoint.Request, key, s, mr, policy, now, ct, await UncheckedImages(key, s, mr, policy, ct)) is { } check)
            return check;
        if (policy.Train.IsTrain && await RidesTrainAsync(mr, memo, ct))
        {
            // Which tags it bumps is recorded first, and the train is told exactly what was recorded.
            if (await carImages.TagFilesAsync(s, mr, policy, now, ct) is { } tagFiles) return StepResult.Of(tagFiles);
            var seat = await Train(key, s, mr).Join(key.Iid, MergeCommitCars.PlannerPolicy(policy.Train, memo.MergeMethod?.Method, images: policy.Images.Count > 0), now,
                TrainBumps.Recorded(s, mr.Sha) ?? [], s.AttemptStartedAt);
            var observed = await ObserveTrainAsync(seat, mr, now, ct, MergeCommitCars.BuildsMergeCommits(memo.MergeMethod?.Method));
            return WorkflowDecider.Decide(observed, s).Events.Count > 0 ? StepResult.Of(observed)
                : StepResult.Waiting(seat.Waiting ?? "the car ahead has not pushed its head yet");
        }
        var queue = grains.GetGrain<IMergeQueueGrain>(QueueKey(key, s, mr));
        return await queue.TryAcquire(key.Iid, MergeOrder.PlaceOf(policy.MergeOrder, mr.CreatedAt, s.AttemptStartedAt, now)) ? StepResult.Of(new StartRebase(now)) : StepResult.Waiting((await queue.Get()).WaitReason(key.Iid));
    }

    private async Task<StepResult> RebasingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        if (s.Car is { } car)
        {
            if (car.OntoSha is not { } onto) return StepResult.Waiting("the car ahead has not pushed its head yet");
            // Even the note that announces the car is said for the requester: their right to merge is checked first.
            if (await Checkpoint(PermissionCheckpoint.Rebase, key, s, mr, policy, now, ct) is { } first) return first;
            // The push puts the cars ahead on its branch with the bot's rights: each of their requesters must still be allowed
            // (before the note too, which says the branch will hold them).
            if (await CarsAheadAsync(PermissionCheckpoint.Rebase, key, s, mr, policy, now, ct) is { } ahead) return ahead;
            if (car.NoteId is null) return await AnnounceAsync(key, s, car, now, ct);
            // Replayed from the head the train pushed last (its base left out), or from the author's on the first car.
            return await RewriteAsync(key, s, mr, policy, now, memo, ct, onto, s.RebasedSha is null || car.MergeCommits ? null : s.TargetSha);
        }
        if (policy.Trailers.Count > 0) return await RewriteAsync(key, s, mr, policy, now, memo, ct);
        if (mr.RebaseInProgress == true) return StepResult.Waiting("GitLab is rebasing");
        var targetHead = await gitlab.TargetHeadAsync(mr, ct);
        var requested = memo.RebaseRequested == (s.Attempt, s.Rebases);
        // Landed, conflicting, closed (or already on top, rebased before a restart): the decider's to say.
        var facts = new RebaseFacts(mr.State, mr.Sha, mr.DiffRefs?.BaseSha, targetHead, mr.MergeError, requested);
        // Our rebase landed on a new head: which head GitLab rewrote, for the decider to hold to the one this attempt stands for.
        if (requested && mr.State == "opened" && facts.OnTop && mr.Sha != s.ExpectedHead)
            facts = facts with { VersionHeads = [.. (await gitlab.ListDiffVersionsAsync(key.ProjectId, key.Iid, ct)).Select(v => v.HeadCommitSha)] };
        var seen = new RecordRebase(facts, now);
        if (WorkflowDecider.Decide(seen, s).Events.Count > 0) return StepResult.Of(seen);
        if (requested) return StepResult.Waiting("the rebase has not landed yet");
        if (await Checkpoint(PermissionCheckpoint.Rebase, key, s, mr, policy, now, ct) is { } check) return check;
        // Rebasing with skip_ci: our own pipeline, with our variables, is the one that counts.
        await gitlab.RebaseAsync(key.ProjectId, key.Iid, skipCi: true, ct);
        memo.RebaseRequested = (s.Attempt, s.Rebases);
        return StepResult.Waiting("rebase requested");
    }

    /// <summary>
    /// With trailers, our own git rebases and pushes (GitLab's rebase API cannot rewrite messages): planned and recorded
    /// first, so the commits are the same after a crash, then pushed with a lease on the source head that was seen.
    /// </summary>
    private async Task<StepResult> RewriteAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct, string? trainOnto = null, string? upstream = null)
    {
        if (await Checkpoint(PermissionCheckpoint.Rebase, key, s, mr, policy, now, ct) is { } check) return check;
        var bot = options.Value.GitLab.BotUsername;
        if (s.PlannedRewrite is not { } plan)
        {
            var onto = trainOnto ?? await gitlab.TargetHeadAsync(mr, ct);
            var approvers = (await gitlab.GetApprovalsAsync(mr.TargetProjectId, mr.Iid, ct)).ApprovedBy ?? [];
            var resets = (await gitlab.GetProjectApprovalsAsync(mr.TargetProjectId, ct)).ResetApprovalsOnPush;
            var trailers = Domain.Trailers.MergeRequestTrailers.For(policy.Trailers, mr.WebUrl ?? throw new InvalidOperationException("GitLab gave no web_url"),
                approvers.Select(a => new Domain.Trailers.Approver(a.User.Id, a.User.Username, a.User.Name ?? a.User.Username, null)), bot,
                options.Value.Git.ReviewerFallbackEmail);
            return StepResult.Of(new PlanRewrite(mr.Sha!, onto, trailers, bot, $"{bot}@users.noreply.{new Uri(mr.WebUrl).Host}", now,
                resets, approvers.Count, policy.ApprovalsResetOnPush, [.. approvers.Select(a => new PlannedApprover(a.User.Id, a.User.Username))],
                reapprovals.Configured, upstream));
        }
        // The push is made with the bot's rights: an MR closed or merged since the plan is the decider's to stop, not ours to push to.
        var stillOpen = new RecordRebase(new RebaseFacts(mr.State, mr.Sha, null, plan.OntoSha, null, Requested: false), now);
        if (WorkflowDecider.Decide(stillOpen, s).Events.Count > 0) return StepResult.Of(stillOpen);
        var target = await gitlab.GetProjectAsync(mr.TargetProjectId.ToString(), ct);
        var source = mr.SourceProjectId == mr.TargetProjectId ? target : await gitlab.GetProjectAsync(mr.SourceProjectId.ToString(), ct);
        var request = new Adapters.Git.GitRewrite(new(target.Id, target.PathWithNamespace), mr.TargetBranch,
            new(source.Id, source.PathWithNamespace), mr.SourceBranch, plan.ExpectedSourceSha, plan.OntoSha, plan.Trailers,
            new Adapters.Git.GitCommitter(plan.CommitterName, plan.CommitterEmail, plan.At), SkipCi: true, plan.Upstream);
        // A push that costs the approvals given, where the policy gives them back: whether it may is decided before anything is pushed.
        var result = s.Car is { MergeCommits: true } ? await git.MergeCarAsync(MergeCar(key, s, mr, plan, request), ct)
            : Reapprovals.Needed(plan) && s.Reapproval is null ? await git.PreviewAsync(request, ct) : await git.RewriteAsync(request, ct);
        if (result is Adapters.Git.GitRewriteResult.Previewed preview)
            return StepResult.Of(await reapprovals.ObserveAsync(plan, preview, mr.TargetProjectId, mr.Iid, now, ct));
        var landed = result is { LandedHead: { } head, LandedOnto: { } landedOnto } ? RecordRebase.Landed(head, landedOnto, now) : null;
        // Pushed: approve again as the approvers GitLab dropped, before the push is recorded (a repeat finds it pushed, and
        // them approved); unless the decider ends the attempt on the head that landed.
        if (s.Reapproval is { Allowed: true } && landed is not null)
        {
            if (WorkflowDecider.Decide(landed, s).Events.OfType<AttemptFailed>().Any()) return StepResult.Of(landed);
            if (await reapprovals.RestoreAsync(mr, s, landed.Facts.Sha!, now, ct) is { } pending) return pending;
        }
        return StepResult.Of(landed ?? result switch
        {
            Adapters.Git.GitRewriteResult.SourceMoved m => (WorkflowCommand)new RecordRewriteFailure("source_moved", m.Message, now),
            Adapters.Git.GitRewriteResult.Conflict c => new RecordRewriteFailure("conflict", $"{c.Commit} does not apply ({string.Join(", ", c.Paths)})", now),
            Adapters.Git.GitRewriteResult.Refused r => new RecordRewriteFailure("refused", r.Message, now),
            _ => throw new InvalidOperationException($"unknown rewrite result {result}"),
        });
    }

    private async Task<StepResult> CheckingAsync(MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy, DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        var rebased = s.RebasedSha!;
        var target = s.TargetSha!;
        var source = mr.SourceProjectId;
        var sourcePath = await SourcePathAsync(mr, memo, ct);
        var changedByMr = await gitlab.ChangedPathsAsync(source, target, rebased, ct);
        var observations = new List<ImageObservation>();
        var unreadable = new List<string>();
        GitLabProject? targetProject = null;
        foreach (var image in policy.Images)
        {
            var tag = Freshness.ReadTag(await gitlab.GetRawFileAsync(source, image.TagFile, rebased, ct), image.TagKey);
            if (tag is null)
            {
                unreadable.Add($"{image.TagKey} from {image.TagFile}");
                continue;
            }
            var targetTag = Freshness.ReadTag(await gitlab.GetRawFileAsync(mr.TargetProjectId, image.TagFile, target, ct), image.TagKey);
            var upstream = await registry.InspectAsync($"{policy.UpstreamRepo!.ToLowerInvariant()}/{image.Name}", tag, ct);
            var upstreamBase = upstream?.Commit is { } uc ? await gitlab.MergeBaseAsync(mr.TargetProjectId, uc, target, ct) : null;
            // A fork's registry is writable by its owner at any moment: for a fork MR it is never read.
            var sourceImage = IsFork(mr) ? null : await registry.InspectAsync($"{sourcePath}/{image.Name}", tag, ct);
            string? sourceBase = null, ownBase = null;
            SourceJob? job = null;
            ChangedPaths? changedSince = null;
            if (sourceImage?.Commit is { } commit)
            {
                sourceBase = await gitlab.MergeBaseAsync(source, target, commit, ct);
                // Is the image this merge request's own? Its commit must be an ancestor of the head the pipeline tests.
                ownBase = await gitlab.MergeBaseAsync(source, commit, rebased, ct);
                var since = await gitlab.ChangedPathsAsync(source, commit, rebased, ct);
                changedSince = ChangedPaths.Of(image.Inputs, since.Paths, since.Complete);
                job = await SourceJobAsync(source, sourceImage, ct);
                // Whether a fork owner's job could have pushed it here: read fresh, once per check, only when there is an image to judge.
                targetProject ??= await gitlab.GetProjectAsync(mr.TargetProjectId.ToString(), ct);
            }
            // The paths and the globs, for the rule to match (and replay to match again); the older booleans are the rule's
            // own answer, kept for readers of those fields.
            var seen = new ImageObservation(image.Name, tag, targetTag, false, upstream, false, sourceImage, false, false, false,
                new ImageHistory(target, upstreamBase, sourceBase, job, rebased, ownBase, sourceImage is null ? null : targetProject?.CiAllowForkPipelinesToRunInParentProject), image.Inputs, ChangedPaths.Of(image.Inputs, changedByMr.Paths, changedByMr.Complete), changedSince);
            observations.Add(seen with { InputsChangedByMergeRequest = seen.MergeRequestTouchesInputs, InputsChangedSinceSourceCommit = seen.InputsChangedSinceSource });
        }
        return StepResult.Of(new RecordFreshness(observations, policy.AllowUnbumpedInputs, now, UnreadableTags: unreadable));
    }

    /// <summary>The job a source image's labels name, as GitLab shows it, for the freshness rule to hold the labels to.</summary>
    private async Task<SourceJob?> SourceJobAsync(long project, RegistryImage image, CancellationToken ct)
    {
        if (image.JobId is not { } jobId) return null;
        var job = await gitlab.GetJobAsync(project, jobId, ct);
        return job is null ? new SourceJob(null, null, null) : new SourceJob(job.Status, job.Pipeline.Id, job.Commit?.Id ?? job.Pipeline.Sha);
    }

    private async Task<StepResult> BuildingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, CancellationToken ct)
    {
        var source = s.PipelineProjectId ?? mr.SourceProjectId;
        if (s.PipelineId is null && IsFork(mr)) return await StartInTargetAsync(key, s, mr, policy, now, ct);
        if (s.PipelineId is not { } pipelineId)
        {
            var marker = Markers.Pipeline(key, s.Attempt, s.Rebases);
            var force = ForceVariables.For(s.Images, policy);
            // Never two pipelines for one attempt: a pipeline created before a crash carries our marker (which names the
            // attempt and rebase). The marker is predictable, so only a pipeline the bot itself created is ours: anyone who
            // may run pipelines could start one at our SHA with our marker and variables of their own (skip the tests, say).
            foreach (var candidate in await gitlab.ListPipelinesAsync(source, PipelineRef(key, s, mr), s.RebasedSha!, ct))
            {
                var variables = await gitlab.GetPipelineVariablesAsync(source, candidate.Id, ct);
                if (variables.Any(v => v.Key == AttemptVariable && v.Value == marker)
                    && (await gitlab.GetPipelineAsync(source, candidate.Id, ct)).User is { } creator && IsBot(creator))
                {
                    await watches.WatchAsync(source, candidate.Id, key, ct);
                    return StepResult.Of(new RecordPipeline(candidate.Id, candidate.Sha, variables.Any(v => force.ContainsKey(v.Key)), now));
                }
            }
            if (await Checkpoint(PermissionCheckpoint.Pipeline, key, s, mr, policy, now, ct) is { } check) return check;
            if (await CarsAheadAsync(PermissionCheckpoint.Pipeline, key, s, mr, policy, now, ct) is { } ahead) return ahead;
            // FDO_FORCE_REBUILD overwrites every stale tag: the decider first rules out one that another branch names.
            if (force.Count > 0 && s.Guard is null && StaleTags.Owed(s))
                return StepResult.Of(await target.ObserveStaleTagsAsync(s, policy, key.ProjectId, now, ct, forced: true));
            // The project's own registry is where the pipeline pushes: snapshot it to see anything else the MR's code changed.
            if (policy.Images.Count > 0 && s.Guard is null)
                return StepResult.Of(new RecordPipelinePrepared(await target.SnapshotAsync(key.ProjectId, policy, ct), [], now));
            var vars = new Dictionary<string, string>(force) { [AttemptVariable] = marker };
            var created = await gitlab.CreatePipelineAsync(source, PipelineRef(key, s, mr), vars, ct);
            await watches.WatchAsync(source, created.Id, key, ct);
            return StepResult.Of(new RecordPipeline(created.Id, created.Sha, force.Count > 0, now));
        }
        var pipeline = await gitlab.GetPipelineAsync(source, pipelineId, ct);
        // A pipeline at `manual` can sit there forever: name the jobs it waits on, for the decider to judge.
        IReadOnlyList<string>? manual = pipeline.Status == "manual"
            ? [.. (await gitlab.ListPipelineJobsAsync(source, pipeline.Id, ct)).Where(j => j.Status == "manual").Select(j => j.Name)]
            : null;
        // With the MR's facts, so that a close, a draft or someone's push stops our now pointless pipeline at once.
        return StepResult.Of(new ObservePipeline(pipeline.Id, pipeline.Status, now, manual, policy.ManualJobs, policy.SkippedPipelines,
            await FactsAsync(mr, policy, ct, withApprovals: false)));
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
            return StepResult.Of(new RecordPipeline(found.Id, found.Sha, forced, now, key.ProjectId, key.ProjectId));
        }
        // The endpoint takes no SHA and runs the source head at that moment: checked right before, and recorded after.
        if (await Checkpoint(PermissionCheckpoint.Pipeline, key, s, mr, policy, now, ct) is { } check) return check;
        if (s.Guard is null)
        {
            // Which stale tags go is the decider's, on the tags the heads in use name; then only those are deleted.
            if (StaleTags.Owed(s))
                return StepResult.Of(await target.ObserveStaleTagsAsync(s, policy, key.ProjectId, now, ct));
            var deleted = await target.DeleteChosenStaleAsync(key, s.StaleTags?.Delete ?? [], ct);
            return StepResult.Of(new RecordPipelinePrepared(await target.SnapshotAsync(key.ProjectId, policy, ct), deleted, now));
        }
        var created = await gitlab.CreateMergeRequestPipelineAsync(key.ProjectId, key.Iid, ct);
        if (created.ProjectId == key.ProjectId) await watches.WatchAsync(key.ProjectId, created.Id, key, ct);
        return StepResult.Of(new RecordPipeline(created.Id, created.Sha, forced, now, created.ProjectId, key.ProjectId));
    }

    private static bool IsFork(GitLabMergeRequest mr) => mr.SourceProjectId != mr.TargetProjectId;

    /// <summary>
    /// A project with no stored or configured policy whose CI (on the target branch) builds ci-templates images: the
    /// policy it suggests. Projects without images keep working with no policy.
    /// </summary>
    private async Task<ProjectPolicy?> UncheckedImages(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        CancellationToken ct)
    {
        // Asked once per attempt, at its request; a project with images in its policy is checked anyway.
        if (policy.Images.Count > 0 || s.PermissionChecked(PermissionCheckpoint.Request) || await policies.IsConfiguredAsync(key.ProjectId, ct)) return null;
        return await gitlab.BranchHeadAsync(key.ProjectId, mr.TargetBranch, ct) is { } head ? (await suggester.AtAsync(key.ProjectId, head, ct)).Policy : null;
    }

    private ObserveMerged Merged(GitLabMergeRequest mr, DateTimeOffset now) =>
        new(mr.MergeCommitSha ?? mr.SquashCommitSha, mr.MergedBy?.Username, options.Value.GitLab.BotUsername, now, mr.Sha);

    /// <summary>
    /// The owed read of the registry after a pipeline of ours (<see cref="RegistryChecks"/>): the pipeline is cancelled if it
    /// still runs, and the registry is read only once GitLab says it has stopped; the decider compares and records.
    /// </summary>
    private async Task<StepResult> RegistryAfterAsync(MergeRequestKey key, MergeRequestWorkflow s, OwedRegistryCheck owed, GitLabMergeRequest mr,
        ProjectPolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        string? status = null;
        if (owed.PipelineId is { } id)
        {
            try
            {
                var pipeline = await gitlab.GetPipelineAsync(owed.PipelineProjectId ?? mr.SourceProjectId, id, ct);
                status = pipeline.Status;
                if (PipelineStatus.Classify(status) == PipelineOutcome.Running)
                {
                    await TryCancelAsync(pipeline, ct);
                    return StepResult.Waiting($"pipeline {id} is stopping before the registry is read after it");
                }
            }
            catch (GitLabException e) when (e.Status is 401 or 403 or 404)
            {
                // A pipeline GitLab ran in a fork the bot cannot see: its jobs pushed to the fork's registry, not this one.
                status = "unseen";
            }
        }
        var evidence = await target.RegistryNowAsync(key, policy, owed.Guard.PreparedAt, ct);
        if (s.CarImages is not null) evidence = await carImages.WithTrainBesideAsync(evidence, key, s with { Guard = owed.Guard }, Train(key, s, mr), ct) ?? evidence;
        return StepResult.Of(new ObserveRegistryAfter(owed.PipelineId, status, evidence, now));
    }

    /// <summary>Cancels this attempt's pipeline if it is still running; true when it was (a finished one is left as it is).</summary>
    private async Task<bool> StopOurPipelineAsync(MergeRequestWorkflow s, GitLabMergeRequest mr, CancellationToken ct)
    {
        if (s.PipelineId is not { } ours) return false;
        GitLabPipeline pipeline;
        try
        {
            pipeline = await gitlab.GetPipelineAsync(s.PipelineProjectId ?? mr.SourceProjectId, ours, ct);
        }
        catch (GitLabException e) when (e.Status is 401 or 403 or 404)
        {
            // A pipeline GitLab ran in a fork the bot cannot see: left to the fork's owner.
            return false;
        }
        if (PipelineStatus.Classify(pipeline.Status) != PipelineOutcome.Running) return false;
        await TryCancelAsync(pipeline, ct);
        return true;
    }

    /// <summary>A pipeline the bot may not cancel (one GitLab ran in a fork) is left to its owner.</summary>
    private async Task TryCancelAsync(GitLabPipeline pipeline, CancellationToken ct)
    {
        try
        {
            await gitlab.CancelPipelineAsync(pipeline.ProjectId, pipeline.Id, ct);
        }
        catch (GitLabException e) when (e.Status is 401 or 403 or 404)
        {
        }
    }

    private async Task<StepResult> VerifyingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        var targetHead = await gitlab.TargetHeadAsync(mr, ct);
        // Ours ran in the target project (a fork MR's) or in the project itself (a same-project MR's): either way the
        // images are established from what its jobs ran on, never read through a tag.
        // A pipeline GitLab ran elsewhere never gets here (the decider ended that attempt); without images there is nothing to read.
        return StepResult.Of(new RecordVerification(targetHead, [], policy.MaxRebases, now, await carImages.WithTrainBesideAsync(
            policy.Images.Count > 0 ? await target.EvidenceAsync(key, s, policy, ct) : null, key, s, Train(key, s, mr), ct)));
    }

    private async Task<StepResult> PromotingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        var next = s.BuiltImages.FirstOrDefault(b => !s.Promotions.Any(p => p.Attempt == s.Attempt && p.Pin() == b.Pin()));
        if (next is null) return StepResult.Waiting("every built image is promoted");
        // Publishing upstream is done with the bot's rights: the requester may have lost theirs during the build.
        if (await Checkpoint(PermissionCheckpoint.Promote, key, s, mr, policy, now, ct) is { } check) return check;
        var upstreamRepo = policy.UpstreamRepo!.ToLowerInvariant();
        var target = $"{upstreamRepo}/{next.Name}";
        var existing = new ObserveUpstreamTag(next.Name, next.Tag, target, (await registry.InspectAsync(target, next.Tag, ct))?.Digest, now);
        if (WorkflowDecider.Decide(existing, s).Events.Count > 0) return StepResult.Of(existing);
        var sourcePath = await SourcePathAsync(mr, memo, ct);
        var digest = await registry.CopyAsync($"{sourcePath}/{next.Name}", next.Digest, target, next.Tag, ct);
        logger.LogInformation("{MergeRequest}: promoted {Image}:{Tag} as {Digest}", key, next.Name, next.Tag, digest);
        return StepResult.Of(new RecordPromotion(next.Name, next.Tag, digest, upstreamRepo, now));
    }

    private async Task<StepResult> MergingAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, StepMemo memo, CancellationToken ct)
    {
        if (s.Car is { AtHead: false } car)
            return StepResult.Waiting($"car {car.Position} waits for the cars ahead ({string.Join(", ", car.Ahead.Select(i => $"!{i}"))}) to land");
        if (s.EmbargoedUntil is { } until && now < until)
        {
            // The policy as it is now: an embargo lifted (or moved) since the wait began is the decider's to see.
            var again = new ObserveEmbargo(policy.Embargo, now);
            return WorkflowDecider.Decide(again, s).Events.Count > 0 ? StepResult.Of(again) : StepResult.Waiting($"merges are embargoed until {until:u}");
        }
        // The step deadline bounds this wait.
        if (mr.DetailedMergeStatus is "checking" or "unchecked" || mr.MergeStatus is "checking" or "unchecked")
            return StepResult.WaitingBriefly("GitLab is still checking mergeability");
        // Right before the merge: who asked, the MR, and the digests the tested images' tags hold now (the merge makes them main's).
        if (await Checkpoint(PermissionCheckpoint.Merge, key, s, mr, policy, now, ct,
                imagesNow: s.Guard is null ? null : await target.TaggedNowAsync(s, policy, ct)) is { } check)
            return check;
        try
        {
            var embargo = new ObserveEmbargo(policy.Embargo, now);
            if (WorkflowDecider.Decide(embargo, s).Events.Count > 0) return StepResult.Of(embargo);
            var merged = await gitlab.MergeAsync(key.ProjectId, key.Iid, s.SourceHead!, ct, await MergeCommitMessageAsync(s, mr, ct));
            // A project that squashes lands a squash commit (with the tested tree) rather than the tested commit itself.
            return StepResult.Of(new RecordMerge(merged.MergeCommitSha ?? merged.SquashCommitSha ?? merged.Sha ?? s.RebasedSha!, now));
        }
        catch (GitLabException e) when (e.Status is 401 or 405 or 406 or 409 or 422)
        {
            // GitLab checks 401 → 405 → 422 → 409, so a stale sha can surface as 405 or 422: look, for the decider to classify.
            var after = await gitlab.GetMergeRequestAsync(key.ProjectId, key.Iid, ct);
            if (after.State == "merged") return StepResult.Of(Merged(after, now));
            var targetHead = await gitlab.BranchHeadAsync(after.TargetProjectId, after.TargetBranch, ct);
            return StepResult.Of(new RecordMergeRefusal(e.Status, e.GitLabMessage, new MergeRefusalFacts(after.Sha, targetHead, after.DetailedMergeStatus),
                policy.MaxRebases, now));
        }
    }

    /// <summary>
    /// A project that makes merge commits gets the trailers in them too, on GitLab's own wording; null leaves GitLab's
    /// message (no trailers, or a fast-forward project that makes no merge commit).
    /// </summary>
    private async Task<string?> MergeCommitMessageAsync(MergeRequestWorkflow s, GitLabMergeRequest mr, CancellationToken ct)
    {
        if (s.PlannedRewrite is not { Trailers.Count: > 0 } plan) return null;
        var project = await gitlab.GetProjectAsync(mr.TargetProjectId.ToString(), ct);
        if (project.MergeMethod is "ff") return null;
        var message = $"Merge branch '{mr.SourceBranch}' into '{mr.TargetBranch}'\n\n{mr.Title}\n\nSee merge request {project.PathWithNamespace}!{mr.Iid}\n";
        return Domain.Trailers.CommitTrailers.Add(message, plan.Trailers);
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
        if (s.PendingRestores.FirstOrDefault() is { } tampered)
        {
            // A stopping pipeline may still push: the tags it tampered with are taken back once it has stopped.
            if (stopping) return StepResult.Waiting($"pipeline {s.PipelineId} is stopping before the tags it tampered with are taken back");
            return StepResult.Of(await target.RestoreAsync(key, tampered, now, ct));
        }
        if (s.State != WorkflowState.Completed && s.PendingCleanup.FirstOrDefault() is { } built)
        {
            // A cancel is asynchronous and a stopping pipeline may still push: clean up only once it has stopped.
            if (stopping) return StepResult.Waiting($"pipeline {s.PipelineId} is stopping before its images are cleaned up");
            // The merge did not happen: an image our pipeline built upstream must not be reused by anyone's pipeline. The
            // decider chooses from what is seen (in a train, what the train recorded of other cars' pushes too); only what
            // it chose is deleted.
            if (built.Cleanup is { Delete: true } chosen) return StepResult.Of(await target.DeleteChosenAsync(key, built, chosen, policy, now, ct));
            var beside = policy.Train.IsTrain ? await Train(key, s, mr).BuildsBeside(s.AttemptStartedAt ?? DateTimeOffset.MinValue) : null;
            return StepResult.Of(await target.ObserveCleanupAsync(key, s.TargetBranch ?? mr.TargetBranch, built, policy, beside, now, ct));
        }
        // A car leaves nothing behind: its train branch, or the cars ahead on its own branch (its merge commit's tree checked first).
        if (await CarEndAsync(key, s, mr, now, ct) is { } tidied) return tidied;
        await grains.GetGrain<IMergeQueueGrain>(QueueKey(key, s, mr)).Release(key.Iid);
        // The train hears how the car ended: merged (it lands, the next may merge) or not (the cars behind are rebuilt without it).
        if (s.State != WorkflowState.None && (s.Car is not null || policy.Train.IsTrain))
        {
            var train = Train(key, s, mr);
            // What landed is not what was tested: the cars riding on it stop, before anyone behind hears of the landing.
            if (s.Car?.Ended?.LandedUntested == true) await train.Halt(key.Iid, MergeCommitCars.Divergence(key.Iid, s.MergeCommitSha ?? ""), now);
            if (s.State == WorkflowState.Completed && s.Car is not null) await train.ReportMerged(key.Iid, s.RebasedSha ?? s.MergeCommitSha ?? "", now);
            else if (s.State != WorkflowState.Completed) await train.Leave(key.Iid, s.Outcome ?? s.State.ToWireName(), now);
        }
        if (s.OutcomeNoteId is not null || s.State == WorkflowState.None) return StepResult.Finished;

        var outcome = Outcomes.For(s, new OutcomeFacts(mr.State, mr.Author.Id, mr.Author.Username, IsBot(mr.Author), (mr.Assignees ?? []).Any(IsBot),
            policy.TriggerLabel is { } label && (mr.Labels ?? []).Contains(label), mr.TargetBranch, mr.TargetProjectId, mr.WebUrl), policy);
        // A note already posted (before a crash) means its actions were done too.
        var marker = Markers.Note(key, s.Attempt);
        var existing = outcome.Note is null ? null : await NoteMarkedAsync(key, marker, ct);
        if (existing is not null) return StepResult.Of(new RecordNote(existing.Id, now));
        // Each action is idempotent: a bot already unassigned, a label already gone change nothing.
        if (outcome.AssignTo is { } people) await gitlab.AssignAsync(key.ProjectId, key.Iid, people, ct);
        if (outcome.UnassignBot) await UnassignBotAsync(key, mr, ct);
        if (outcome.RemoveLabel is { } remove) await gitlab.RemoveLabelAsync(key.ProjectId, key.Iid, remove, ct);
        // No note, by policy: note 0 records "none".
        if (outcome.Note is null) return StepResult.Of(new RecordNote(0, now));
        var carNote = s.Car?.Ended?.Note is { } branch ? "\n\n" + branch : "";
        var note = await gitlab.PostNoteAsync(key.ProjectId, key.Iid, outcome.Note + carNote + "\n\n" + marker, ct);
        return StepResult.Of(new RecordNote(note.Id, now));
    }

    /// <summary>
    /// The train's word on this car, with what the car owes it first (its head once pushed, its pipeline's failure),
    /// handed to the decider; null when nothing changes. A new car stops the old one's pipeline before it is recorded.
    /// </summary>
    private async Task<StepResult?> TrainAsync(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy,
        DateTimeOffset now, CancellationToken ct)
    {
        // What its pipeline did to the tags it builds for the train, before its failure is reported: a failed build is the train's first.
        if (await carImages.ObserveAsync(key, s, policy, now, ct) is { } images) return StepResult.Of(images);
        var train = Train(key, s, mr);
        var seat = await train.Seat(key.Iid);
        if (s.Car!.CarId is { } carId && seat.CarId == carId)
        {
            if (s.State > WorkflowState.Rebasing && s.RebasedSha is { } head && seat.PushedHead != head)
                seat = await train.ReportHead(key.Iid, carId, head, now);
            seat = await carImages.ReportAsync(train, key, s, seat, carId, now);
            if (s.State == WorkflowState.Building && s.PipelineStatus is { } status && PipelineStatus.Classify(status) == PipelineOutcome.Failed
                && seat.CarStatus == "running")
                seat = await train.ReportFailed(key.Iid, carId, now);
        }
        var observed = await ObserveTrainAsync(seat, mr, now, ct);
        var decision = WorkflowDecider.Decide(observed, s);
        if (decision.Events.Count == 0) return await PreviewMergeAsync(key, s, mr, seat, observed.TargetHead, now, ct);
        if (decision.Events.OfType<TrainCarAssigned>().Any(e => e.SupersededPipeline is not null)) await StopOurPipelineAsync(s, mr, ct);
        return StepResult.Of(observed);
    }

    private async Task<ObserveTrain> ObserveTrainAsync(TrainSeat seat, GitLabMergeRequest mr, DateTimeOffset now, CancellationToken ct,
        bool mergeCommits = false) =>
        new(seat, await gitlab.TargetHeadAsync(mr, ct), now, mergeCommits);

    /// <summary>Which merge requests ride a train (<see cref="TrainCarRules.Rides"/>), by the target project's merge method.</summary>
    private async Task<bool> RidesTrainAsync(GitLabMergeRequest mr, StepMemo memo, CancellationToken ct)
    {
        if (memo.MergeMethod is not { } known || known.Project != mr.TargetProjectId)
            memo.MergeMethod = known = (mr.TargetProjectId, (await gitlab.GetProjectAsync(mr.TargetProjectId.ToString(), ct)).MergeMethod);
        return TrainCarRules.Rides(known.Method, IsFork(mr));
    }

    /// <summary>Says on the merge request which car it is, before its branch is rewritten to hold the cars ahead (once per car).</summary>
    private async Task<StepResult> AnnounceAsync(MergeRequestKey key, MergeRequestWorkflow s, TrainCar car, DateTimeOffset now, CancellationToken ct)
    {
        var marker = Markers.CarNote(key, s.Attempt, car.CarId!);
        var note = await NoteMarkedAsync(key, marker, ct)
            ?? await gitlab.PostNoteAsync(key.ProjectId, key.Iid, TrainCarRules.Announcement(car, car.Reason) + "\n\n" + marker, ct);
        return StepResult.Of(new RecordCarNote(car.CarId!, note.Id, now));
    }

    /// <summary>
    /// A note the bot posted before (found by its marker): a repeat after a crash posts nothing twice. Only the bot's own
    /// notes count: anyone can paste a marker into a comment, and it would silence the bot's outcome and skip its actions.
    /// </summary>
    private async Task<GitLabNote?> NoteMarkedAsync(MergeRequestKey key, string marker, CancellationToken ct) =>
        (await gitlab.ListNotesAsync(key.ProjectId, key.Iid, ct)).FirstOrDefault(n => IsBot(n.Author) && n.Body.Contains(marker));

    private ITrainGrain Train(MergeRequestKey key, MergeRequestWorkflow s, GitLabMergeRequest mr) => grains.GetGrain<ITrainGrain>(QueueKey(key, s, mr));

    private bool IsBot(GitLabUser user) => string.Equals(user.Username, options.Value.GitLab.BotUsername, StringComparison.OrdinalIgnoreCase);

    /// <summary>Leaves the other assignees; GitLab reads <c>assignee_ids=[0]</c> as "nobody". Idempotent.</summary>
    private async Task UnassignBotAsync(MergeRequestKey key, GitLabMergeRequest mr, CancellationToken ct)
    {
        var assignees = mr.Assignees ?? [];
        if (!assignees.Any(IsBot)) return;
        var others = assignees.Where(a => !IsBot(a)).Select(a => a.Id).ToList();
        await gitlab.AssignAsync(key.ProjectId, key.Iid, others.Count > 0 ? others : [0], ct);
    }

    /// <summary>
    /// Before each effect done with the bot's rights (queueing, rebasing, running the MR's code, promoting, merging), once
    /// per checkpoint and rebase: GitLab's view of the requester and of the merge request, for the decider to judge and record.
    /// </summary>
    private async Task<StepResult?> Checkpoint(PermissionCheckpoint checkpoint, MergeRequestKey key, MergeRequestWorkflow s,
        GitLabMergeRequest mr, ProjectPolicy policy, DateTimeOffset now, CancellationToken ct, ProjectPolicy? suggested = null,
        IReadOnlyList<TagDigest>? imagesNow = null)
    {
        if (s.PermissionChecked(checkpoint)) return null;
        // Where the bot may rewrite the source branch (asked for, and before each rebase or train push), that branch too.
        var rewrites = checkpoint is PermissionCheckpoint.Request or PermissionCheckpoint.Rebase;
        var seen = await permissions.ObserveAsync(s.Requester, key.ProjectId, mr.TargetBranch, ct,
            rewrites ? (mr.SourceProjectId, mr.SourceBranch, mr.AllowCollaboration) : null);
        return StepResult.Of(new RecordCheckpoint(checkpoint, mr.TargetBranch, seen, policy.AllowedCommanders, now,
            await FactsAsync(mr, policy, ct), policy.RequiredApprovals, suggested, imagesNow));
    }

    /// <summary>The fields of the merge request (and its approvals, where they are judged) that the preconditions read.</summary>
    /// With whether the bot is assigned and the policy's trigger label on, for the decider to tell a withdrawn request.
    private async Task<MergeRequestFacts> FactsAsync(GitLabMergeRequest mr, ProjectPolicy policy, CancellationToken ct, bool withApprovals = true)
    {
        var approvals = withApprovals ? await gitlab.GetApprovalsAsync(mr.TargetProjectId, mr.Iid, ct) : null;
        return new MergeRequestFacts(mr.State, mr.Draft, mr.HasConflicts, mr.BlockingDiscussionsResolved, IsFork(mr),
            mr.AllowCollaboration, mr.Sha, approvals is null ? null : approvals.ApprovedBy?.Count ?? 0, approvals?.ApprovalsLeft, approvals?.ApprovalsRequired,
            BotAssigned: mr.Assignees is { } assignees ? assignees.Any(IsBot) : null,
            TriggerLabelOn: policy.TriggerLabel is { } label && mr.Labels is { } labels ? labels.Contains(label) : null,
            TargetBranch: mr.TargetBranch);
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
