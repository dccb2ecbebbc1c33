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
public sealed class TargetPipeline(IGitLabClient gitlab, IImageRegistry registry, IOptions<OrchestratorOptions> options, Persistence.ITamperLedger ledger)
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

    /// <summary>
    /// For the decider's choice of stale tags to delete, or (<paramref name="forced"/>) its check that a forced rebuild
    /// overwrites no other branch's tag (<see cref="StaleTags"/>): what the heads in use name for each stale image.
    /// </summary>
    public async Task<ObserveStaleTags> ObserveStaleTagsAsync(MergeRequestWorkflow s, ProjectPolicy policy, long project, DateTimeOffset now, CancellationToken ct,
        bool forced = false)
    {
        var heads = await HeadsInUseAsync(project, s.TargetBranch ?? "target", s.TargetSha!, ct);
        var inUse = new List<ImageTagInUse>();
        foreach (var image in policy.Images.Where(p => s.Images.Any(i => i.Name == p.Name && i.Verdict == FreshnessVerdict.Stale)))
            inUse.AddRange((await TagsOfAsync(project, heads, image, ct)).Select(t => new ImageTagInUse(image.Name, t.Branch, t.Sha, t.Tag)));
        return new ObserveStaleTags(policy.UpstreamRepo!.ToLowerInvariant(), inUse, now, forced);
    }

    /// <summary>Deletes the stale tags the decider chose (<c>repository:tag</c>); returns those it deleted now (a repeat finds them gone).</summary>
    public async Task<IReadOnlyList<string>> DeleteChosenStaleAsync(MergeRequestKey key, IReadOnlyList<string> chosen, CancellationToken ct)
    {
        var deleted = new List<string>();
        foreach (var tag in chosen)
        {
            var colon = tag.LastIndexOf(':');
            if (await gitlab.DeleteRegistryTagAsync(key.ProjectId, tag[..colon], tag[(colon + 1)..], ct)) deleted.Add(tag);
        }
        return deleted;
    }

    /// <summary>A snapshot of more tags than this is not taken in part: it fails, and so does the step.</summary>
    public const int MaxSnapshotTags = 20_000;

    /// <summary>
    /// Every tag of every repository of the target project's registry (GitLab's list of them, and the policy images' own,
    /// which may not exist yet), with its digest: a job can push under any of them, the project's own image included. A
    /// list that cannot be read whole (GitLab's or a repository's tags past their page bounds, or more tags than
    /// <see cref="MaxSnapshotTags"/>) fails rather than answer part of it.
    /// </summary>
    public async Task<IReadOnlyList<TagDigest>> SnapshotAsync(long project, ProjectPolicy policy, CancellationToken ct)
    {
        var repositories = (await gitlab.ListRegistryRepositoriesAsync(project, ct)).Select(r => r.ToLowerInvariant())
            .Concat(policy.Images.Select(i => Repository(policy, i.Name))).Distinct().Order(StringComparer.Ordinal);
        var tags = new List<TagDigest>();
        foreach (var repository in repositories)
        {
            var names = await registry.ListTagsAsync(repository, ct);
            if (tags.Count + names.Count > MaxSnapshotTags)
                throw new InvalidOperationException($"the registry of project {project} has more than {MaxSnapshotTags} tags: it is not snapshotted in part");
            foreach (var tag in names)
                tags.Add(new TagDigest(repository, tag, await registry.DigestAsync(repository, tag, ct)));
        }
        return tags;
    }

    /// <summary>The registry as it is now, in the shape verification records it (no jobs or images: the pipeline did not succeed).</summary>
    public async Task<VerificationEvidence> RegistryNowAsync(MergeRequestKey key, ProjectPolicy policy, DateTimeOffset? snapshotAt, CancellationToken ct)
    {
        // The ledger after the registry: another merge request records a planted digest before it takes it back.
        var after = await SnapshotAsync(key.ProjectId, policy, ct);
        return new((policy.UpstreamRepo ?? "").ToLowerInvariant(), [], [], policy.UnverifiedJobs, after, TamperedElsewhere: await ledger.ElsewhereAsync(key, ct),
            OverlappedBy: await OverlappedByAsync(key, snapshotAt, ct));
    }

    /// <summary>Who else's guarded pipeline ran when our snapshot was taken (null: a snapshot recorded before its time was).</summary>
    private async Task<IReadOnlyList<string>?> OverlappedByAsync(MergeRequestKey key, DateTimeOffset? snapshotAt, CancellationToken ct) =>
        snapshotAt is { } at ? await ledger.OverlappingAsync(key, at, ct) : null;

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
        return await RegistryNowAsync(key, policy, s.Guard?.PreparedAt, ct) with { Images = images, Jobs = jobs, Bridges = bridges };
    }

    /// <summary>
    /// What the cleanup rule (<see cref="UpstreamCleanups"/>) needs for one image our pipelines built upstream, after an
    /// attempt that did not merge: the tags the target branch (the one the request was pinned to, if it still exists) and
    /// every protected branch use, what the tag holds now, and in a merge train the pushes the train recorded of it by
    /// other cars (<paramref name="beside"/>; null: the project has no train). Nothing is deleted here.
    /// </summary>
    public async Task<ObserveCleanup> ObserveCleanupAsync(MergeRequestKey key, string targetBranch, ImageState image, ProjectPolicy policy,
        TrainBuildsBeside? beside, DateTimeOffset now, CancellationToken ct)
    {
        var repository = Repository(policy, image.Name);
        var head = await gitlab.BranchHeadAsync(key.ProjectId, targetBranch, ct);
        // An image the policy no longer lists has no tag file to read: no branch is seen using it.
        var used = policy.Images.FirstOrDefault(i => i.Name == image.Name) is { } inPolicy
            ? await TagsOfAsync(key.ProjectId, await HeadsInUseAsync(key.ProjectId, targetBranch, head, ct), inPolicy, ct) : [];
        var current = await registry.InspectAsync(repository, image.Tag, ct);
        var tag = TrainCarImages.Key(image);
        return new ObserveCleanup(image.Name, image.Tag,
            new CleanupObservation(repository, targetBranch, head, used, current, key.Iid,
                beside is null ? null : [.. beside.Pushes.Where(p => p.Tag == tag)], beside is null ? null : [.. beside.Heads]), now);
    }

    /// <summary>
    /// Deletes the tag only while it holds the digest the decider chose, looked up first: a repeat after a crash finds it
    /// gone. What the tag holds afterwards is read again and recorded, so the decider sees a delete that did not take.
    /// </summary>
    public async Task<RecordUpstreamCleanup> DeleteChosenAsync(MergeRequestKey key, ImageState image, CleanupChoice choice, ProjectPolicy policy,
        DateTimeOffset now, CancellationToken ct)
    {
        var repository = Repository(policy, image.Name);
        var found = await registry.DigestAsync(repository, image.Tag, ct);
        if (found is null || found != choice.Digest) return new RecordUpstreamCleanup(image.Name, image.Tag, false, now, found);
        await gitlab.DeleteRegistryTagAsync(key.ProjectId, repository, image.Tag, ct);
        var after = await registry.DigestAsync(repository, image.Tag, ct);
        return new RecordUpstreamCleanup(image.Name, image.Tag, after != found, now, found);
    }

    /// <summary>
    /// Takes back a tag our pipeline tampered with, as the decider chose (<see cref="RegistryRestores"/>), looked up first:
    /// only while it holds the tampered digest is it re-tagged to the digest from before (the manifest is still there by
    /// digest) or deleted (it was absent); a repeat after a crash finds it restored. What it holds afterwards is read again.
    /// </summary>
    public async Task<RecordTagRestore> RestoreAsync(MergeRequestKey key, TagRestore restore, DateTimeOffset now, CancellationToken ct)
    {
        var found = await registry.DigestAsync(restore.Repository, restore.Tag, ct);
        if (found != restore.Tampered || found == restore.Before) return new RecordTagRestore(restore.Repository, restore.Tag, found, found, now);
        // By tag, never by digest: a planted image may share its manifest with a tag that is not ours to take.
        if (restore.Before is not { } before || !await RetagAsync(restore.Repository, before, restore.Tag, ct))
            await gitlab.DeleteRegistryTagAsync(key.ProjectId, restore.Repository, restore.Tag, ct);
        return new RecordTagRestore(restore.Repository, restore.Tag, found, await registry.DigestAsync(restore.Repository, restore.Tag, ct), now);
    }

    /// <summary>Puts <paramref name="digest"/> back under the tag; false when the registry no longer has that manifest.</summary>
    private async Task<bool> RetagAsync(string repository, string digest, string tag, CancellationToken ct)
    {
        try
        {
            await registry.CopyAsync(repository, digest, repository, tag, ct);
            return true;
        }
        catch (RegistryException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
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
    /// The heads whose tag files count as in use: the target branch (at <paramref name="targetSha"/>) and every protected
    /// branch, since a release branch's image is main's equal and is never deleted for anyone's merge request.
    /// </summary>
    // targetSha null: the target branch is gone, and only the protected branches count.
    private async Task<IReadOnlyList<(string Branch, string Sha)>> HeadsInUseAsync(long project, string targetBranch, string? targetSha, CancellationToken ct)
    {
        var heads = (await gitlab.ListBranchesAsync(project, ct)).Where(b => b.Protected == true).Select(b => (b.Name, b.Commit.Id));
        return [.. (targetSha is null ? heads : heads.Prepend((targetBranch, targetSha))).DistinctBy(h => h.Item2)];
    }

    /// <summary>What <paramref name="image"/>'s tag file names at each of <paramref name="heads"/>.</summary>
    private async Task<IReadOnlyList<BranchTag>> TagsOfAsync(long project, IReadOnlyList<(string Branch, string Sha)> heads, ImagePolicy image, CancellationToken ct)
    {
        var tags = new List<BranchTag>();
        foreach (var (branch, sha) in heads)
            tags.Add(new BranchTag(branch, sha, Freshness.ReadTag(await gitlab.GetRawFileAsync(project, image.TagFile, sha, ct), image.TagKey)));
        return tags;
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
