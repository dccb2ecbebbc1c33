using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Grains;

namespace Orchestrator.Workflow;

/// <summary>
/// The shell of image-aware cars (<see cref="TrainCarImages"/>): which tags a merge request bumps when it joins, what a
/// car's pipeline has done to the tags it builds for the train, and telling the train so. It only reads and reports;
/// the decider judges what it saw, and the train decides who waits.
/// </summary>
/// <remarks>
/// The build is the bumping car's own pipeline, on its own source branch at its speculative head, forced exactly as the
/// serial workflow forces (<see cref="ForceVariables"/>: a stale tag through its <c>forceVariable</c> or
/// <c>FDO_FORCE_REBUILD</c>, a missing one not at all, since ci-templates builds it anyway). Cars testing on it are
/// never forced for it: their container job finds the tag in the project's registry and reuses it.
/// </remarks>
internal sealed class CarImagesObserver(IGitLabClient gitlab, IImageRegistry registry, TargetPipeline target)
{
    /// <summary>
    /// The tag files at the merge request's head and the target's head, for the decider to record which tags it bumps (once
    /// per attempt and head); null once recorded, or when the policy has no images.
    /// </summary>
    public async Task<ObserveTagFiles?> TagFilesAsync(MergeRequestWorkflow s, GitLabMergeRequest mr, ProjectPolicy policy, DateTimeOffset now,
        CancellationToken ct)
    {
        if (policy.Images.Count == 0 || mr.Sha is not { } head || TrainBumps.Recorded(s, head) is not null) return null;
        var target = await gitlab.TargetHeadAsync(mr, ct);
        var reads = new List<TagFileRead>();
        foreach (var image in policy.Images)
            reads.Add(new TagFileRead(image.Name,
                Freshness.ReadTag(await gitlab.GetRawFileAsync(mr.SourceProjectId, image.TagFile, head, ct), image.TagKey),
                Freshness.ReadTag(await gitlab.GetRawFileAsync(mr.TargetProjectId, image.TagFile, target, ct), image.TagKey)));
        return new ObserveTagFiles(head, target, reads, now);
    }

    /// <summary>
    /// While the car's pipeline runs, the tags it builds for the train: what each holds now in the target's registry (its
    /// labels read by that digest) and how our pipeline's container job for it stands. Null when there is nothing new.
    /// </summary>
    public async Task<ObserveCarImages?> ObserveAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, DateTimeOffset now,
        CancellationToken ct)
    {
        if (s.State != WorkflowState.Building || s.PipelineId is not { } pipeline || policy.UpstreamRepo is not { } upstream) return null;
        var watched = TrainCarImages.Watched(s);
        if (watched.Count == 0) return null;
        var jobs = await gitlab.ListPipelineJobsAsync(s.PipelineProjectId ?? key.ProjectId, pipeline, ct);
        var seen = new List<CarImageSeen>();
        foreach (var image in s.Images.Where(i => watched.Contains(TrainCarImages.Key(i))))
        {
            var repository = $"{upstream.ToLowerInvariant()}/{image.Name}";
            var digest = await registry.DigestAsync(repository, image.Tag, ct);
            var labels = digest is null ? null : await registry.InspectAsync(repository, digest, ct);
            // ci-templates' container job is named after the image (FDO_REPO_SUFFIX), as the policy's image name is.
            seen.Add(new CarImageSeen(image.Name, image.Tag, digest, labels, jobs.FirstOrDefault(j => j.Name == image.Name)?.Status));
        }
        var command = new ObserveCarImages(seen, now);
        return WorkflowDecider.Decide(command, s).Events.Count > 0 ? command : null;
    }

    /// <summary>
    /// A car's verification evidence, with what its train's other cars build beside it, and for each of their tags that
    /// changed meanwhile (to a digest the train did not record a push of) the labels read by that digest and the pipeline
    /// they name: the decider's registry guard expects only a change the train can vouch for (<see cref="TrainVouching"/>).
    /// </summary>
    public async Task<VerificationEvidence?> WithTrainBesideAsync(VerificationEvidence? evidence, MergeRequestKey key, MergeRequestWorkflow s,
        ITrainGrain train, CancellationToken ct)
    {
        if (evidence is null || s.CarImages is null) return evidence;
        var beside = await train.BuildsBeside(s.AttemptStartedAt ?? DateTimeOffset.MinValue);
        var told = evidence with { Beside = new TrainBesideEvidence(beside, [], target.Bot) };
        var changes = new List<TrainTagChange>();
        foreach (var (name, repository, tag) in TrainCarImages.BuiltByOtherCars(s, told))
        {
            var before = s.Guard?.Before.FirstOrDefault(t => t.Repository == repository && t.Tag == tag)?.Digest;
            if (evidence.RegistryAfter.FirstOrDefault(t => t.Repository == repository && t.Tag == tag)?.Digest is not { } after
                || after == before || beside.Pushes.Any(p => p.Tag == name && p.Digest == after))
                continue;
            changes.Add(await target.TagChangeAsync(key.ProjectId, repository, tag, after, ct));
        }
        return told with { Beside = told.Beside! with { Changes = changes } };
    }

    /// <summary>
    /// Tells the train what the car owes it about its builds: each push (unless our pipeline already failed: the car is
    /// about to be judged, and no car behind should start on it), and each failed build. Repeats are ignored by the train.
    /// </summary>
    public async Task<TrainSeat> ReportAsync(ITrainGrain train, MergeRequestKey key, MergeRequestWorkflow s, TrainSeat seat, string carId,
        DateTimeOffset now)
    {
        if (seat.Images is not { } told) return seat;
        var failing = s.PipelineStatus is { } status && PipelineStatus.Classify(status) == PipelineOutcome.Failed;
        foreach (var push in TrainCarImages.Pushes(s).Where(p => !told.Pushed.Contains(p)))
            if (!failing) seat = await train.ReportImage(key.Iid, carId, push.Tag, push.Digest, now);
        foreach (var tag in s.CarImages?.Failed ?? [])
            seat = await train.ReportImageFailed(key.Iid, carId, tag, now);
        return seat;
    }
}
