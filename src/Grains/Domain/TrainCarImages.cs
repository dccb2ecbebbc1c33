using Orchestrator.Domain.Trains;

namespace Orchestrator.Domain;

// A car's images on a merge train of a project with images: one build per bumped tag per train. The first car testing
// the merge request that bumps a tag builds it in its own pipeline (as the serial workflow would: ci-templates builds a
// missing tag, a stale one is forced); every car needing it waits in the queue until that build has pushed, then tests
// on that digest. Never renumber an [Id] or rename an alias: stored streams depend on them.

/// <summary>
/// What the train says of a car's images. Tags are the planner's <c>name:tag</c>.
/// </summary>
/// <param name="Builds">Tags this car's pipeline builds for the train.</param>
/// <param name="TestsOn">Tags a car ahead built, with the digest this car must test on.</param>
/// <param name="Pushed">Of <paramref name="Builds"/>, the pushes the train has recorded (so the car stops reporting them).</param>
/// <param name="FailedBuild">The merge request leaves untested: a tag it needs failed to build (why, in words).</param>
[GenerateSerializer, Alias("CarImages")]
public sealed record CarImages(
    [property: Id(0)] IReadOnlyList<string> Builds,
    [property: Id(1)] IReadOnlyList<ImageDigest> TestsOn,
    [property: Id(2)] IReadOnlyList<ImageDigest> Pushed,
    [property: Id(3)] string? FailedBuild = null)
{
    public static readonly CarImages None = new([], [], []);
}

/// <summary>One tag this car builds for the train, as the shell found it while our pipeline ran.</summary>
/// <param name="Name">The policy's image.</param>
/// <param name="Tag">Its tag at the car's head.</param>
/// <param name="Digest">What the tag holds in the target's registry now (null: nothing yet).</param>
/// <param name="AtDigest">The labels of the manifest at that digest, read by digest.</param>
/// <param name="BuildJobStatus">GitLab's status of our pipeline's container job for the image (ci-templates names it after the image).</param>
[GenerateSerializer, Alias("CarImageSeen")]
public sealed record CarImageSeen(
    [property: Id(0)] string Name,
    [property: Id(1)] string Tag,
    [property: Id(2)] string? Digest,
    [property: Id(3)] RegistryImage? AtDigest,
    [property: Id(4)] string? BuildJobStatus);

/// <summary>The tags this car builds for the train, looked at while its pipeline runs.</summary>
public sealed record ObserveCarImages(IReadOnlyList<CarImageSeen> Seen, DateTimeOffset At) : WorkflowCommand(At);

/// <summary>
/// Our pipeline pushed tags the train waits for (<paramref name="Pushed"/>, by the digest whose labels name it), or their
/// build job failed (<paramref name="Failed"/>): the train hears it next, and the cars needing them start or leave.
/// </summary>
[GenerateSerializer, Alias("TrainCarImagesSeen")]
public sealed record TrainCarImagesSeen(
    [property: Id(0)] int Attempt,
    [property: Id(1)] IReadOnlyList<CarImageSeen> Seen,
    [property: Id(2)] IReadOnlyList<ImageDigest> Pushed,
    [property: Id(3)] IReadOnlyList<string> Failed,
    [property: Id(4)] DateTimeOffset At) : IWorkflowEvent;

/// <summary>The current car's images: what the train said when it gave the car, and what the car has seen of its builds since.</summary>
[GenerateSerializer, Alias("CarImageState")]
public sealed record CarImageState(
    [property: Id(0)] CarImages Seat,
    [property: Id(1)] IReadOnlyList<ImageDigest> Pushed,
    [property: Id(2)] IReadOnlyList<string> Failed);

/// <summary>
/// The rules of a car's images, pure. The train decides who builds and who waits; these hold each car to it with the
/// evidence the serial workflow trusts: a push counts only by a digest whose labels name our pipeline and the car's
/// commit; a car testing on a tag built ahead must find it as it was built (checked, not rebuilt) and its jobs must have
/// run on exactly that digest, as the runner reported; the builder's own jobs too. Anything else fails the car.
/// </summary>
public static class TrainCarImages
{
    public static string Key(INamedImage image) => image.Ref().ToString();

    /// <summary>The tags a merge request bumps: those its tag file names other than the target's (read at the merge request's head and the target's).</summary>
    public static IReadOnlyList<string> Bumps(IEnumerable<TagFileRead> images) =>
        [.. images.Where(i => i.HeadTag is not null && i.HeadTag != i.TargetTag).Select(i => new ImageRef(i.Name, i.HeadTag!).ToString())];

    /// <summary>The digests this car's jobs must run on: built ahead, or pushed by this merge request's earlier car, or by its own pipeline.</summary>
    public static IReadOnlyList<ImageDigest> Expected(MergeRequestWorkflow state) => state.CarImages is not { } images ? []
        : [.. images.Seat.TestsOn.Concat(images.Seat.Pushed).Concat(images.Pushed).DistinctBy(d => d.Tag)];

    /// <summary>Tags this car builds whose push or failure it has not seen yet (what the shell looks at while the pipeline runs).</summary>
    public static IReadOnlyList<string> Watched(MergeRequestWorkflow state) => state.CarImages is not { } images ? []
        : [.. images.Seat.Builds.Where(t => !images.Pushed.Any(p => p.Tag == t) && !images.Failed.Contains(t) && !images.Seat.Pushed.Any(p => p.Tag == t)
            && ReadyAtCheck(state, t) is null)];

    /// <summary>A tag this car builds that the freshness check found already usable (upstream, from the target's history: see <see cref="ForBuilder"/>): ready at that digest, nothing to build.</summary>
    public static string? ReadyAtCheck(MergeRequestWorkflow state, string tag) =>
        state.Images.FirstOrDefault(i => Key(i) == tag) is { } image && !image.Verdict.NeedsRebuild() ? image.CheckedDigest : null;

    /// <summary>
    /// What the car owes the train: each tag it builds, once pushed (or found usable), with its digest; a push the shell
    /// did not catch while the pipeline ran is owed once verification established it from the runner's lines.
    /// </summary>
    /// <remarks>Only once this rebase's images are checked (an earlier check's verdicts say nothing of this car's head).</remarks>
    public static IReadOnlyList<ImageDigest> Pushes(MergeRequestWorkflow state) => state.CarImages is not { } images || !state.IsActive
        || state.State < WorkflowState.Building ? []
        : [.. images.Seat.Builds.Select(t => images.Pushed.FirstOrDefault(p => p.Tag == t)
                ?? (ReadyAtCheck(state, t) is { } digest ? new ImageDigest(t, digest) : null)
                ?? (state.BuiltImages.FirstOrDefault(b => Key(b) == t) is { } verified ? new ImageDigest(t, verified.Digest) : null))
            .OfType<ImageDigest>()];

    /// <summary>Our pipeline pushed a tag the car builds (by a digest labelled with our pipeline and commit), or its build job failed.</summary>
    public static Decision DecideSeen(ObserveCarImages c, MergeRequestWorkflow state)
    {
        var watched = Watched(state);
        var pushed = new List<ImageDigest>();
        var failed = new List<string>();
        foreach (var seen in c.Seen)
        {
            var tag = new ImageRef(seen.Name, seen.Tag).ToString();
            if (!watched.Contains(tag) || state.PipelineId is not { } ours) continue;
            if (seen is { Digest: { } digest, AtDigest: { } labels } && labels.Commit == state.RebasedSha && labels.PipelineId == ours)
                pushed.Add(new ImageDigest(tag, digest));
            else if (seen.BuildJobStatus is "failed")
                failed.Add(tag);
        }
        return pushed.Count + failed.Count == 0 ? Decision.Nothing
            : Decision.Of(new TrainCarImagesSeen(state.Attempt, c.Seen, pushed, failed, c.At));
    }

    /// <summary>
    /// The car building a tag for the train reuses it only when it comes from the target's own history (upstream): the
    /// cars behind test on it with this car's head as their base, and must find it there. An image merely fresh for this
    /// car (built from its pre-rebase commit, say by its branch pipeline) is in no car's history once rebased, so it is
    /// rebuilt here, forced as any stale image is: the train's one build is this car's.
    /// </summary>
    public static IReadOnlyList<ImageAssessment> ForBuilder(MergeRequestWorkflow state, IReadOnlyList<ImageAssessment> images) =>
        state.CarImages is not { } car ? images
        : [.. images.Select(i => i.Verdict == FreshnessVerdict.Fresh && car.Seat.Builds.Contains(Key(i))
            ? i with { Verdict = FreshnessVerdict.Stale, Reason = $"{i.Reason}; but the merge train's cars behind this one need it built from its head, so it is rebuilt" }
            : i)];

    /// <summary>
    /// A car testing on a tag the train built must find it usable as it is, at that digest: a rebuild here would replace
    /// the image the other cars test on (or land with), so the car fails rather than build it again.
    /// </summary>
    public static string? FreshnessProblem(MergeRequestWorkflow state, IReadOnlyList<ImageAssessment> checkedImages)
    {
        var problems = new List<string>();
        foreach (var expected in Expected(state))
        {
            var image = checkedImages.FirstOrDefault(i => Key(i) == expected.Tag);
            if (image is null)
                problems.Add($"{expected.Tag} was not checked");
            else if (image.Verdict.NeedsRebuild())
                problems.Add($"{expected.Tag} would be rebuilt ({image.Reason}), but the train built it as {expected.Digest} for the cars to test on");
            else if (image.Digest != expected.Digest)
                problems.Add($"{expected.Tag} is {image.Digest ?? "nothing"} in the registry, not the {expected.Digest} the train built");
        }
        return problems.Count == 0 ? null
            : "The merge train's images cannot be used as built: " + string.Join("; ", problems) + ".";
    }

    /// <summary>
    /// The tags (<c>name:tag</c>, with their repository) other cars of the train build: their pipelines run beside this one
    /// and push to the same registry. Not those this car tests on or built: those must hold what its jobs ran on. Whether a
    /// change of one is expected is <see cref="TrainVouching"/>'s to say, by the digest it holds now.
    /// </summary>
    public static IEnumerable<(string Key, string Repository, string Tag)> BuiltByOtherCars(MergeRequestWorkflow state, VerificationEvidence evidence)
    {
        var ours = Expected(state).Select(e => e.Tag).Concat(state.CarImages?.Seat.Builds ?? []).ToHashSet();
        foreach (var tag in (evidence.Beside?.Train.Tags ?? evidence.TrainBuilds ?? []).Where(t => !ours.Contains(t)))
        {
            var colon = tag.LastIndexOf(':');
            if (colon > 0) yield return (tag, $"{evidence.UpstreamRepository}/{tag[..colon]}", tag[(colon + 1)..]);
        }
    }

    /// <summary>Every image the train told the car about (and every push it reported) is the very digest its jobs ran on.</summary>
    public static IEnumerable<string> VerificationProblems(MergeRequestWorkflow state, IReadOnlyList<BuiltImage> verified)
    {
        foreach (var expected in Expected(state))
        {
            var ran = verified.FirstOrDefault(v => Key(v) == expected.Tag)?.Digest;
            if (ran != expected.Digest)
                yield return $"the jobs of pipeline {state.PipelineId} ran {expected.Tag} as {ran ?? "nothing verified"}, not as the {expected.Digest} the merge train built";
        }
    }
}
