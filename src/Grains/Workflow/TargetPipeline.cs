using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Domain.Trains;
using Orchestrator.Hosting;

namespace Orchestrator.Workflow;

/// <summary>
/// A fork merge request's pipeline, run in the target project where the fork's owner cannot push: the stale upstream
/// tags it must rebuild are deleted first (never one the target branch uses), the target registry is snapshotted
/// around it, and afterwards each image is established from the digests GitLab Runner reported for our jobs, read back
/// by digest. Nothing from the fork's registry, runners or logs is read. Effects are looked up before they are repeated.
/// </summary>
public sealed class TargetPipeline(IGitLabClient gitlab, IImageRegistry registry, IOptions<OrchestratorOptions> options)
{
    /// <summary>The bot's username: the user GitLab names as every pipeline of ours' creator.</summary>
    public string Bot => options.Value.GitLab.BotUsername;

    /// <summary>The pipeline of this attempt, found again after a crash: the bot's merge request pipeline at the rebased SHA.</summary>
    public async Task<GitLabPipeline?> FindAsync(MergeRequestKey key, MergeRequestWorkflow s, CancellationToken ct)
    {
        foreach (var candidate in await gitlab.ListMergeRequestPipelinesAsync(key.ProjectId, key.Iid, ct))
        {
            if (candidate.Sha != s.RebasedSha || candidate.ProjectId != key.ProjectId || candidate.Source != "merge_request_event") continue;
            var pipeline = await gitlab.GetPipelineAsync(key.ProjectId, candidate.Id, ct);
            // Another attempt at the same SHA made its own pipeline before this one started; only a pipeline the bot
            // created since this attempt began can be ours.
            if (string.Equals(pipeline.User?.Username, Bot, StringComparison.OrdinalIgnoreCase) && pipeline.CreatedAt >= s.AttemptStartedAt)
                return pipeline;
        }
        return null;
    }

    /// <summary>Deletes the stale tags this attempt must rebuild, unless the target branch uses them; returns what it deleted.</summary>
    public async Task<IReadOnlyList<string>> DeleteStaleAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, CancellationToken ct)
    {
        var used = await TagsInUseAsync(key.ProjectId, s.TargetSha!, policy, ct);
        var deleted = new List<string>();
        foreach (var image in s.Images.Where(i => i.Verdict == FreshnessVerdict.Stale && !used.Contains((i.Name, i.Tag))))
        {
            var repository = Repository(policy, image.Name);
            if (await gitlab.DeleteRegistryTagAsync(key.ProjectId, repository, image.Tag, ct)) deleted.Add($"{repository}:{image.Tag}");
        }
        return deleted;
    }

    /// <summary>Every tag of every policy image's repository in the target's registry, with its digest.</summary>
    public async Task<IReadOnlyList<TagDigest>> SnapshotAsync(ProjectPolicy policy, CancellationToken ct)
    {
        var tags = new List<TagDigest>();
        foreach (var image in policy.Images)
        {
            var repository = Repository(policy, image.Name);
            foreach (var tag in await registry.ListTagsAsync(repository, ct))
                tags.Add(new TagDigest(repository, tag, await registry.DigestAsync(repository, tag, ct)));
        }
        return tags;
    }

    /// <summary>What verification needs: each job's runner lines, each image read by the digest its jobs ran on, the registry after.</summary>
    public async Task<VerificationEvidence> EvidenceAsync(MergeRequestKey key, MergeRequestWorkflow s, ProjectPolicy policy, CancellationToken ct)
    {
        var jobs = new List<JobEvidence>();
        foreach (var job in await gitlab.ListPipelineJobsAsync(key.ProjectId, s.PipelineId!.Value, ct))
        {
            var lines = job.Status is "success" or "failed" or "running" or "canceled"
                ? RunnerLog.ImageLines(await gitlab.GetJobTraceAsync(key.ProjectId, job.Id, ct)).Lines
                : [];
            jobs.Add(new JobEvidence(job.Id, job.Name, job.Status, lines));
        }
        var host = new Uri(options.Value.Registry.Url!).Authority;
        var images = new List<ImageEvidence>();
        foreach (var image in s.Images)
        {
            var repository = Repository(policy, image.Name);
            var reference = $"{host}/{repository}:{image.Tag}";
            var digests = jobs.SelectMany(j => j.RunnerLines).Where(l => ImageVerification.Same(l.Image, reference)).Select(l => l.Digest).Distinct().ToList();
            var digest = digests.Count == 1 ? digests[0] : null;
            var labels = digest is null ? null : await registry.InspectAsync(repository, digest, ct);
            var inTarget = labels?.Commit is { } commit && await gitlab.MergeBaseAsync(key.ProjectId, commit, s.TargetSha!, ct) == commit;
            images.Add(new ImageEvidence(image.Name, image.Tag, reference, image.Verdict, digest, labels, inTarget, image.FdoCommit, image.CheckedDigest));
        }
        var bridges = (await gitlab.ListPipelineBridgesAsync(key.ProjectId, s.PipelineId!.Value, ct)).Select(b => b.Name).ToList();
        return new VerificationEvidence(policy.UpstreamRepo!.ToLowerInvariant(), images, jobs, policy.UnverifiedJobs, await SnapshotAsync(policy, ct), bridges);
    }

    /// <summary>Takes back one image our pipelines built upstream for an attempt that did not merge; returns whether it deleted it.</summary>
    // targetBranch: the branch the request was pinned to; a retargeted MR's images are judged by the branch it was built for.
    // beside: in a merge train, what the train says its cars built beside this attempt (null: the project has no train).
    public async Task<bool> CleanUpAsync(MergeRequestKey key, string targetBranch, ImageState image, ProjectPolicy policy,
        TrainBuildsBeside? beside, CancellationToken ct)
    {
        var head = await gitlab.BranchHeadAsync(key.ProjectId, targetBranch, ct);
        if (head is null || (await TagsInUseAsync(key.ProjectId, head, policy, ct)).Contains((image.Name, image.Tag))) return false;
        var repository = Repository(policy, image.Name);
        // Our pipeline may never have pushed it (its build failed): then there is nothing to delete, and none is claimed.
        if (await registry.DigestAsync(repository, image.Tag, ct) is not { } current) return false;
        // In a merge train another car's pipeline may have pushed the same tag since, for its own test: an image the train
        // vouches for as the registry guard would (TrainVouching) is not ours to take back. Anything else under the tag goes,
        // ours (any car of this merge request's) or the stale one ours was to replace.
        if (beside is not null && TrainVouching.Unvouched(TrainCarImages.Key(image), repository, image.Tag, current,
                new TrainBesideEvidence(beside, [await TagChangeAsync(key.ProjectId, repository, image.Tag, current, ct)], Bot), h => h.Iid == key.Iid) is null)
            return false;
        await gitlab.DeleteRegistryTagAsync(key.ProjectId, repository, image.Tag, ct);
        return true;
    }

    /// <summary>What a tag holds, read by its digest: the labels, and GitLab's pipeline they name (null when this project has none by that id).</summary>
    public async Task<TrainTagChange> TagChangeAsync(long project, string repository, string tag, string digest, CancellationToken ct)
    {
        var labels = await registry.InspectAsync(repository, digest, ct);
        return new TrainTagChange(repository, tag, digest, labels, labels?.PipelineId is { } id ? await PipelineAsync(project, id, ct) : null);
    }

    private async Task<LabelledPipeline?> PipelineAsync(long project, long id, CancellationToken ct)
    {
        try
        {
            var pipeline = await gitlab.GetPipelineAsync(project, id, ct);
            return new LabelledPipeline(pipeline.Id, pipeline.Sha, pipeline.Ref, pipeline.User?.Username);
        }
        catch (GitLabException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// The tags the target branch (at <paramref name="targetSha"/>) and every protected branch name in their tag files:
    /// a release branch's image is main's equal, and is never deleted for anyone's merge request.
    /// </summary>
    private async Task<HashSet<(string Name, string Tag)>> TagsInUseAsync(long project, string targetSha, ProjectPolicy policy, CancellationToken ct)
    {
        var heads = (await gitlab.ListBranchesAsync(project, ct)).Where(b => b.Protected == true).Select(b => b.Commit.Id).Append(targetSha).Distinct();
        var used = new HashSet<(string, string)>();
        foreach (var sha in heads)
            foreach (var image in policy.Images)
                if (Freshness.ReadTag(await gitlab.GetRawFileAsync(project, image.TagFile, sha, ct), image.TagKey) is { } tag)
                    used.Add((image.Name, tag));
        return used;
    }

    /// <summary>What each tested image's tag holds now, by image name (the decider compares it with what our jobs ran on).</summary>
    public async Task<IReadOnlyList<TagDigest>> TaggedNowAsync(MergeRequestWorkflow s, ProjectPolicy policy, CancellationToken ct)
    {
        var now = new List<TagDigest>();
        foreach (var image in s.BuiltImages)
        {
            var repository = Repository(policy, image.Name);
            now.Add(new TagDigest(repository, image.Tag, await registry.DigestAsync(repository, image.Tag, ct)));
        }
        return now;
    }

    private static string Repository(ProjectPolicy policy, string image) => $"{policy.UpstreamRepo!.ToLowerInvariant()}/{image}";
}
