namespace Orchestrator.Domain;

/// <summary>One job of our pipeline as its log tells it: its state and the runner's image lines before its script.</summary>
[GenerateSerializer, Alias("JobEvidence")]
public sealed record JobEvidence(
    [property: Id(0)] long JobId,
    [property: Id(1)] string Name,
    [property: Id(2)] string Status,
    [property: Id(3)] IReadOnlyList<RunnerImageLine> RunnerLines);

/// <summary>
/// One image of the policy after our pipeline: the reference jobs name it by in the target's registry, its verdict,
/// and the labels of the manifest at the digest the runner reported (read by digest, never by tag).
/// </summary>
[GenerateSerializer, Alias("ImageEvidence")]
public sealed record ImageEvidence(
    [property: Id(0)] string Name,
    [property: Id(1)] string Tag,
    [property: Id(2)] string Reference,
    [property: Id(3)] FreshnessVerdict Verdict,
    [property: Id(4)] string? Digest,
    [property: Id(5)] RegistryImage? AtDigest,
    [property: Id(6)] bool LabelCommitInTarget,
    [property: Id(7)] string? FreshCommit = null,
    [property: Id(8)] string? CheckedDigest = null) : IPinnedImage;

/// <summary>
/// Everything verification read after our pipeline in the target project: the images by the digest each job ran on,
/// the jobs' runner lines, the policy's accepted unverified jobs, and the target registry's tags afterwards. For a car of an
/// image-aware train, <see cref="Beside"/>: what the train said its other cars build and pushed, with what was read of each
/// tag of theirs that changed (<see cref="TrainVouching"/>). <see cref="TrainBuilds"/>: the tags alone, as streams recorded
/// before rule book 5 hold them (no digest vouched for: replay refuses them, "rules_changed").
/// </summary>
[GenerateSerializer, Alias("VerificationEvidence")]
public sealed record VerificationEvidence(
    [property: Id(0)] string UpstreamRepository,
    [property: Id(1)] IReadOnlyList<ImageEvidence> Images,
    [property: Id(2)] IReadOnlyList<JobEvidence> Jobs,
    [property: Id(3)] IReadOnlyList<string> UnverifiedJobsAllowed,
    [property: Id(4)] IReadOnlyList<TagDigest> RegistryAfter,
    [property: Id(5)] IReadOnlyList<string>? Bridges = null,
    [property: Id(6)] IReadOnlyList<string>? TrainBuilds = null,
    [property: Id(7)] TrainBesideEvidence? Beside = null,
    [property: Id(8)] IReadOnlyList<TagRestore>? TamperedElsewhere = null,
    [property: Id(9)] IReadOnlyList<string>? OverlappedBy = null);

[GenerateSerializer, Alias("ImageVerificationResult")]
public sealed record ImageVerificationResult(
    [property: Id(0)] IReadOnlyList<BuiltImage> Verified,
    [property: Id(1)] IReadOnlyList<string> Problems);

/// <summary>
/// What counts as the image our tests ran on: the digest GitLab Runner reported for every job of our pipeline that ran
/// in it (the same digest in all of them), whose manifest's labels name the rebased commit and our pipeline (a rebuilt
/// image) or a commit of the target branch (an image already upstream). Tags, and labels read through a tag, are
/// writable by others at any moment and count for nothing. Pure.
/// </summary>
public static class ImageVerification
{
    private static readonly string[] Ran = ["success", "failed", "running", "canceled"];

    /// <summary>The same image reference however a job spelled it (registries compare names in lower case).</summary>
    public static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    public static ImageVerificationResult Verify(IReadOnlyList<ImageEvidence> images, IReadOnlyList<JobEvidence> jobs,
        string rebasedSha, long pipelineId, IReadOnlyList<string> unverifiedJobsAllowed)
    {
        var problems = new List<string>();
        var ran = jobs.Where(j => Ran.Contains(j.Status)).ToList();
        var silent = ran.Where(j => j.RunnerLines.Count == 0 && !unverifiedJobsAllowed.Contains(j.Name)).Select(j => $"{j.Name} (job {j.JobId})").ToList();
        if (silent.Count > 0)
            problems.Add($"the runner did not report the image of {string.Join(", ", silent)} (a shell, custom or Kubernetes executor?); " +
                "the policy's unverifiedJobs does not accept them");
        var verified = new List<BuiltImage>();
        foreach (var image in images)
        {
            var digests = ran.SelectMany(j => j.RunnerLines.Where(l => Same(l.Image, image.Reference)).Select(l => (j, l.Digest))).ToList();
            var distinct = digests.Select(d => d.Digest).Distinct().ToList();
            if (distinct.Count == 0)
            {
                problems.Add($"no job of pipeline {pipelineId} ran in {image.Reference}, so nothing tested it");
                continue;
            }
            if (distinct.Count > 1)
            {
                problems.Add($"the jobs of pipeline {pipelineId} ran in different images under {image.Reference}: " +
                    string.Join("; ", digests.Select(d => $"{d.j.Name} on {d.Digest}")));
                continue;
            }
            var digest = distinct[0];
            if (image.Digest != digest || image.AtDigest is not { } labels)
            {
                problems.Add($"{image.Reference}@{digest} could not be read from the registry");
                continue;
            }
            // Fresh (same-project MRs only): the image the freshness check accepted, built from that commit by the
            // project's own pipeline, is what our jobs ran on.
            // An image the check found already there must be the very digest it judged: a tag swapped since proves nothing.
            if (!image.Verdict.NeedsRebuild() && image.CheckedDigest != digest)
            {
                problems.Add($"{image.Reference} ran as {digest}, not the {image.CheckedDigest ?? "unrecorded digest"} the freshness check judged");
                continue;
            }
            var trusted = image.Verdict.NeedsRebuild() ? labels.Commit == rebasedSha && labels.PipelineId == pipelineId
                : image.Verdict == FreshnessVerdict.Fresh ? image.FreshCommit is not null && labels.Commit == image.FreshCommit
                : image.LabelCommitInTarget;
            if (!trusted)
            {
                problems.Add(image.Verdict.NeedsRebuild()
                    ? $"{image.Reference}@{digest} is labelled with commit {labels.Commit ?? "none"} and pipeline {labels.PipelineId?.ToString() ?? "none"}, " +
                      $"not with {rebasedSha} and pipeline {pipelineId}: our pipeline did not build what its jobs ran on"
                    : image.Verdict == FreshnessVerdict.Fresh
                        ? $"{image.Reference}@{digest} names commit {labels.Commit ?? "none"}, not the {image.FreshCommit} the freshness check accepted"
                        : $"{image.Reference}@{digest} names commit {labels.Commit ?? "none"}, which is not in the target branch");
                continue;
            }
            verified.Add(new BuiltImage(image.Name, image.Tag, digest, labels.Commit, labels.PipelineId));
        }
        return new ImageVerificationResult(verified, problems);
    }
}
