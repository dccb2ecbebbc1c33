using Orchestrator.Domain.Trains;

namespace Orchestrator.Domain;

// While a train's cars run side by side, each car's pipeline may see another car's build land under a tag it does not
// use. The registry guard lets such a change pass only for a digest the train can vouch for, judged here on what the
// verification evidence recorded, so replay judges it again. Never renumber an [Id] or rename an alias.

/// <summary>GitLab's word on the pipeline an image's labels name (<c>GET /projects/:id/pipelines/:pipeline_id</c>).</summary>
[GenerateSerializer, Alias("LabelledPipeline")]
public sealed record LabelledPipeline(
    [property: Id(0)] long Id,
    [property: Id(1)] string Sha,
    [property: Id(2)] string Ref,
    [property: Id(3)] string? User);

/// <summary>
/// A tag another car of the train builds that changed beside our pipeline: the digest it holds now, that manifest's labels
/// read by that digest, and the pipeline they name as GitLab shows it (null: none named, or none in this project).
/// </summary>
[GenerateSerializer, Alias("TrainTagChange")]
public sealed record TrainTagChange(
    [property: Id(0)] string Repository,
    [property: Id(1)] string Tag,
    [property: Id(2)] string Digest,
    [property: Id(3)] RegistryImage? AtDigest,
    [property: Id(4)] LabelledPipeline? Pipeline);

/// <summary>What the train said ran beside the car's pipeline, what the shell read of each changed tag, and whose pipelines are the bot's.</summary>
[GenerateSerializer, Alias("TrainBesideEvidence")]
public sealed record TrainBesideEvidence(
    [property: Id(0)] TrainBuildsBeside Train,
    [property: Id(1)] IReadOnlyList<TrainTagChange> Changes,
    [property: Id(2)] string BotUsername);

/// <summary>
/// Which digests the train vouches for under a tag another car builds. Pure. A digest counts when the train recorded
/// its push (the car that made it checked its labels against its own pipeline and commit), or when its labels name a
/// commit that is the head of another car of this train and a pipeline the bot created at that commit: that car's own
/// build. Anything else (no labels, a pipeline of someone else's, a commit no car of the train has) is a change nobody
/// expected, and fails the car: a same-project developer may push to the registry, but not in the train's name.
/// </summary>
public static class TrainVouching
{
    /// <summary>
    /// Why the train cannot vouch for <paramref name="digest"/> under <paramref name="key"/> (<c>name:tag</c>, in
    /// <paramref name="repository"/> as <paramref name="tag"/>), or null when it can; <paramref name="ours"/> picks the heads
    /// of the asking merge request's own car (or cars), whose build is never "another car's".
    /// </summary>
    public static string? Unvouched(string key, string repository, string tag, string? digest, TrainBesideEvidence? beside, Func<CarHead, bool> ours)
    {
        // Another car's failed attempt takes back what it built: nothing can run on an absent tag.
        if (digest is null) return null;
        if (beside is null) return "nothing the train built beside this pipeline was recorded with the evidence";
        // A push is the train's word only when a car other than ours reported it (that car checked it against its own pipeline and commit).
        if (beside.Train.Pushes.Any(p => p.Tag == key && p.Digest == digest && !beside.Train.Heads.Any(h => h.CarId == p.CarId && ours(h)))) return null;
        var change = beside.Changes.FirstOrDefault(c => c.Repository == repository && c.Tag == tag && c.Digest == digest);
        if (change?.AtDigest is not { Commit: { } commit, PipelineId: { } pipeline })
            return "the train recorded no push of it, and its labels (read by digest) name no commit and pipeline";
        if (change.Pipeline is not { } ran || ran.Id != pipeline)
            return $"its labels name pipeline {pipeline}, which is not one of this project's";
        if (!string.Equals(ran.User, beside.BotUsername, StringComparison.OrdinalIgnoreCase))
            return $"its labels name pipeline {pipeline}, which {ran.User ?? "an unknown user"} created, not {beside.BotUsername}";
        if (ran.Sha != commit)
            return $"its labels name commit {commit}, but pipeline {pipeline} ran at {ran.Sha}";
        if (!beside.Train.Heads.Any(h => h.Sha == commit && !ours(h)))
            return $"its labels name commit {commit}, the head of no other car of the merge train";
        return null;
    }

    /// <summary>
    /// The tags other cars build that changed beside this car's pipeline: those the train vouches for (the registry guard
    /// expects them), and a reason for each it does not.
    /// </summary>
    public static (IReadOnlyList<(string Repository, string Tag)> Expected, IReadOnlyList<string> Refused) Judge(MergeRequestWorkflow state,
        VerificationEvidence evidence)
    {
        var expected = new List<(string, string)>();
        var refused = new List<string>();
        foreach (var (key, repository, tag) in TrainCarImages.BuiltByOtherCars(state, evidence))
        {
            var before = state.Guard?.Before.FirstOrDefault(t => t.Repository == repository && t.Tag == tag)?.Digest;
            var after = evidence.RegistryAfter.FirstOrDefault(t => t.Repository == repository && t.Tag == tag)?.Digest;
            if (before == after) continue;
            if (Unvouched(key, repository, tag, after, evidence.Beside, h => h.CarId == state.Car?.CarId || h.Sha == state.RebasedSha) is { } why)
                refused.Add($"{repository}:{tag} is built by another car of the merge train, but no car of it vouches for {after}: {why}");
            else
                expected.Add((repository, tag));
        }
        return (expected, refused);
    }
}
