namespace Orchestrator.Domain;

/// <summary>The tag a branch's tag file names for an image at the branch's head (null: it names none, or has no such file).</summary>
[GenerateSerializer, Alias("BranchTag")]
public sealed record BranchTag([property: Id(0)] string Branch, [property: Id(1)] string Sha, [property: Id(2)] string? Tag);

/// <summary>The pipeline an image's labels name, as GitLab showed it (<paramref name="Found"/> false: no pipeline of the project by that id).</summary>
[GenerateSerializer, Alias("LabelledPipeline")]
public sealed record LabelledPipeline(
    [property: Id(0)] long Id,
    [property: Id(1)] bool Found,
    [property: Id(2)] string? CreatedBy = null,
    [property: Id(3)] string? Ref = null);

/// <summary>
/// What the shell saw before an image our pipelines built upstream is taken back after an attempt that did not merge:
/// the head of the branch the request was pinned to (null: gone) and the tag each protected branch and it name for the
/// image, what the tag holds now (its digest and ci-templates labels; null: nothing), the pipeline those labels name,
/// and who the bot is and where this merge request's pipelines run (its branch, its train branch, its MR refs).
/// </summary>
[GenerateSerializer, Alias("CleanupObservation")]
public sealed record CleanupObservation(
    [property: Id(0)] string Repository,
    [property: Id(1)] string TargetBranch,
    [property: Id(2)] string? TargetHead,
    [property: Id(3)] IReadOnlyList<BranchTag> TagsInUse,
    [property: Id(4)] RegistryImage? Current,
    [property: Id(5)] LabelledPipeline? Pipeline,
    [property: Id(6)] string Bot,
    [property: Id(7)] IReadOnlyList<string> OurRefs,
    [property: Id(8)] long MergeRequestIid);

/// <summary>Whether to delete the tag, and, if so, only while it holds <paramref name="Digest"/>; why, in words.</summary>
[GenerateSerializer, Alias("CleanupChoice")]
public sealed record CleanupChoice([property: Id(0)] bool Delete, [property: Id(1)] string? Digest, [property: Id(2)] string Reason);

/// <summary>
/// After an attempt that did not merge, nothing it built may stay where anyone's pipeline would reuse it. The rule keeps
/// a tag only where deleting it would take something that is not ours to take: a tag the target branch or a protected
/// branch uses (main's equal), or an image another car of a merge train pushed for its own test (labelled with a pipeline
/// the bot created for another ref). Anything else under the tag goes, ours or the stale image ours was to replace; an
/// image whose pipeline cannot be shown to be another car's goes too (fail closed: an untested image never stays).
/// </summary>
public static class UpstreamCleanups
{
    /// <summary>The rule (<see cref="WorkflowRules.Cleanup"/>), from the observation alone.</summary>
    public static CleanupChoice Choose(INamedImage image, CleanupObservation o)
    {
        var tag = $"{o.Repository}:{image.Tag}";
        if (o.TargetHead is null)
            return Keep($"the target branch {o.TargetBranch} is gone, so what it uses is unknown: {tag} is left as it is");
        if (o.TagsInUse.FirstOrDefault(u => u.Tag == image.Tag) is { } use)
            return Keep($"{use.Branch} (at {use.Sha}) uses {tag}: it is never deleted for a merge request");
        if (o.Current is not { } current)
            return Keep($"nothing is under {tag}: our pipeline never pushed it, so there is nothing to delete");
        if (current.PipelineId is { } built && o.Pipeline is { Found: true, Ref: { } other } p && p.Id == built
            && string.Equals(p.CreatedBy, o.Bot, StringComparison.OrdinalIgnoreCase) && !Ours(o, other))
            return Keep($"{tag} holds {current.Digest}, pushed by pipeline {built} that the bot created for {other}: another car's, not ours to take back");
        return new(true, current.Digest, $"{tag} holds {current.Digest} (labelled with commit {current.Commit ?? "none"} and pipeline " +
            $"{current.PipelineId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}): ours, or the stale image ours was to " +
            "replace, and the merge did not happen, so it is deleted");
    }

    /// <summary>A ref this merge request's own pipelines run on.</summary>
    private static bool Ours(CleanupObservation o, string reference) =>
        o.OurRefs.Contains(reference) || reference.StartsWith($"refs/merge-requests/{o.MergeRequestIid}/", StringComparison.Ordinal);

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
    /// The shell's word that it deleted (or found) the tag: a deletion counts only of the digest the decider chose. A
    /// stream from before choices were recorded (no choice on the image) is taken as it was recorded.
    /// </summary>
    internal static Decision DecideDone(RecordUpstreamCleanup c, ImageState pending, MergeRequestWorkflow state)
    {
        if (pending.Cleanup is { Delete: true, Digest: var digest } && c.Deleted && c.Found != digest)
            return Decision.Reject(RejectionKind.InvalidInput,
                $"{c.Name}:{c.Tag} was chosen for deletion only while it holds {digest}, not {c.Found ?? "nothing"}");
        return Decision.Of(new UpstreamImageCleaned(state.Attempt, c.Name, c.Tag, c.Deleted, c.At, c.Found));
    }
}
