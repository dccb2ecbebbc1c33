namespace Orchestrator.Domain;

/// <summary>The tag a branch's tag file names for an image at the branch's head (null: it names none, or has no such file).</summary>
[GenerateSerializer, Alias("BranchTag")]
public sealed record BranchTag([property: Id(0)] string Branch, [property: Id(1)] string Sha, [property: Id(2)] string? Tag);

/// <summary>
/// What the shell saw before an image our pipelines built upstream is taken back after an attempt that did not merge:
/// the head of the branch the request was pinned to (null: gone), the tag it and each protected branch name for the
/// image, what the tag holds now (its digest and ci-templates labels; null: nothing), and in a merge train the pushes of
/// the tag the train recorded and the heads of its cars (null: the project has no train).
/// </summary>
/// <remarks>
/// The labels are recorded for the note, never trusted: the job that pushes an image sets them, and for a fork's merge
/// request that job runs the fork owner's code. Ids 5–7 belonged to a labels-based rule that never left this branch.
/// </remarks>
[GenerateSerializer, Alias("CleanupObservation")]
public sealed record CleanupObservation(
    [property: Id(0)] string Repository,
    [property: Id(1)] string TargetBranch,
    [property: Id(2)] string? TargetHead,
    [property: Id(3)] IReadOnlyList<BranchTag> TagsInUse,
    [property: Id(4)] RegistryImage? Current,
    [property: Id(8)] long MergeRequestIid,
    [property: Id(9)] IReadOnlyList<Trains.CarPush>? TrainPushes = null,
    [property: Id(10)] IReadOnlyList<Trains.CarHead>? TrainHeads = null);

/// <summary>Whether to delete the tag, and, if so, only while it holds <paramref name="Digest"/>; why, in words.</summary>
[GenerateSerializer, Alias("CleanupChoice")]
public sealed record CleanupChoice([property: Id(0)] bool Delete, [property: Id(1)] string? Digest, [property: Id(2)] string Reason);

/// <summary>
/// After an attempt that did not merge, nothing it built may stay where anyone's pipeline would reuse it. The rule keeps
/// a tag only where deleting it would take something that is not ours to take: a tag the target branch (if it still
/// exists) or a protected branch uses (main's equal), or the very digest another car of a merge train pushed and the
/// train recorded. Anything else under the tag goes, ours or the stale image ours was to replace, whatever its labels
/// say (fail closed: an untested image never stays).
/// </summary>
public static class UpstreamCleanups
{
    /// <summary>The rule (<see cref="WorkflowRules.Cleanup"/>), from the observation alone.</summary>
    public static CleanupChoice Choose(INamedImage image, CleanupObservation o)
    {
        var tag = $"{o.Repository}:{image.Tag}";
        if (o.TagsInUse.FirstOrDefault(u => u.Tag == image.Tag) is { } use)
            return Keep($"{use.Branch} (at {use.Sha}) uses {tag}: it is never deleted for a merge request");
        if (o.Current is not { } current)
            return Keep($"nothing is under {tag}: our pipeline never pushed it, so there is nothing to delete");
        if (AnotherCarsPush(o, current.Digest) is { } push)
            return Keep($"{tag} holds {current.Digest}, the push the merge train recorded of car {push.CarId}: another car's, not ours to take back");
        return new(true, current.Digest, $"{tag} holds {current.Digest} (labelled with commit {current.Commit ?? "none"} and pipeline " +
            $"{current.PipelineId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}): ours, or the stale image ours was to " +
            "replace, and the merge did not happen, so it is deleted");
    }

    /// <summary>
    /// A push of exactly this digest that the train recorded from a car of another merge request (that car checked it
    /// against its own pipeline and commit before reporting it). A push by a car whose merge request the train's heads do
    /// not name is no one's known: it goes (fail closed; that car's own check then finds its tag changed and fails).
    /// </summary>
    private static Trains.CarPush? AnotherCarsPush(CleanupObservation o, string digest) =>
        (o.TrainPushes ?? []).FirstOrDefault(p => p.Digest == digest
            && (o.TrainHeads ?? []).Where(h => h.CarId == p.CarId).Select(h => h.Iid).ToList() is { Count: > 0 } riders
            && riders.All(iid => iid != o.MergeRequestIid));

    private static CleanupChoice Keep(string reason) => new(false, null, reason);

    /// <summary>
    /// The choice on the observation, recorded whatever it says; a tag kept is done with at once, a tag to delete waits
    /// for the shell to delete it (only while it holds the chosen digest) and record that.
    /// </summary>
    internal static Decision Decide(ObserveCleanup c, MergeRequestWorkflow state, WorkflowRules rules)
    {
        var choice = rules.Cleanup(c, c.Observation);
        var chosen = new UpstreamCleanupChosen(state.Attempt, c.Name, c.Tag, c.Observation, choice, c.At);
        return choice.Delete ? Decision.Of(chosen) : Decision.Of(chosen, new UpstreamImageCleaned(state.Attempt, c.Name, c.Tag, false, c.At));
    }

    /// <summary>
    /// The shell's word on the deletion the decider chose: what the tag held when looked up (<c>Found</c>) and whether it
    /// held it no more afterwards (<c>Deleted</c>). The chosen digest still there after the delete is refused (nothing is
    /// recorded, and the delete is tried again at the next look); another digest found there is recorded and re-opens the
    /// choice (the evolver clears it, and the image is observed again); nothing there ends the cleanup. A stream from
    /// before choices were recorded (no choice on the image) is taken as it was recorded.
    /// </summary>
    internal static Decision DecideDone(RecordUpstreamCleanup c, ImageState pending, MergeRequestWorkflow state)
    {
        if (pending.Cleanup is { Delete: true, Digest: var digest })
        {
            if (c.Deleted && c.Found != digest)
                return Decision.Reject(RejectionKind.InvalidInput,
                    $"{c.Name}:{c.Tag} was chosen for deletion only while it holds {digest}, not {c.Found ?? "nothing"}");
            if (!c.Deleted && c.Found == digest)
                return Decision.Reject(RejectionKind.InvalidInput,
                    $"{c.Name}:{c.Tag} still holds {digest} after GitLab was asked to delete it; it is tried again");
        }
        return Decision.Of(new UpstreamImageCleaned(state.Attempt, c.Name, c.Tag, c.Deleted, c.At, c.Found));
    }

    /// <summary>
    /// Whether a recorded cleanup re-opens the choice rather than ending it: the tag held another digest than the one
    /// chosen (pushed since the choice), which the rule has not judged yet.
    /// </summary>
    public static bool Reopens(UpstreamImageCleaned e, ImageState pending) =>
        !e.Deleted && e.Found is { } found && pending.Cleanup is { Delete: true, Digest: var chosen } && found != chosen;
}
