using System.Text.RegularExpressions;

namespace Orchestrator.Domain;

/// <summary>An image as the registry shows it: its digest and the ci-templates labels in its config.</summary>
[GenerateSerializer, Alias("RegistryImage")]
public sealed record RegistryImage(
    [property: Id(0)] string Digest,
    [property: Id(1)] string? Commit,
    [property: Id(2)] long? PipelineId,
    [property: Id(3)] long? JobId);

/// <summary>The job a source image's labels name, as GitLab shows it (null fields: GitLab does not know the job).</summary>
[GenerateSerializer, Alias("SourceJob")]
public sealed record SourceJob(
    [property: Id(0)] string? Status,
    [property: Id(1)] long? PipelineId,
    [property: Id(2)] string? Commit);

/// <summary>
/// Where the images' commits stand in git, as GitLab answered: the target head checked against, the merge base of the
/// upstream image's commit with it, the merge base of the source image's commit with it, the job that claims to have
/// built the source image, and the merge request's own head (its rebased head, what the pipeline tests) with the merge
/// base of the source image's commit with that head. The rule compares them; the shell only asks.
/// </summary>
/// <remarks>
/// Observations recorded before <see cref="MergeRequestHead"/> (rule books up to 5) carry none: nothing shows their
/// source image is the merge request's own, so the rule now finds it stale and their replay says <c>rules_changed</c>.
/// <see cref="ForkPipelinesRun"/>: the project's <c>ci_allow_fork_pipelines_to_run_in_parent_project</c> as GitLab showed
/// it when a source image was read (null: not shown, or recorded before it was read, rule books up to 7: their source
/// image is now stale and their replay says <c>rules_changed</c>).
/// </remarks>
[GenerateSerializer, Alias("ImageHistory")]
public sealed record ImageHistory(
    [property: Id(0)] string TargetSha,
    [property: Id(1)] string? UpstreamMergeBase,
    [property: Id(2)] string? SourceMergeBase,
    [property: Id(3)] SourceJob? SourceJob,
    [property: Id(4)] string? MergeRequestHead = null,
    [property: Id(5)] string? OwnMergeBase = null,
    [property: Id(6)] bool? ForkPipelinesRun = null);

/// <summary>Everything the freshness rule looks at for one image, gathered by the shell from GitLab and the registry.</summary>
/// <remarks>
/// With <see cref="History"/> the rule reads git's answers itself; streams recorded before it carry the shell's
/// conclusions instead (<see cref="UpstreamCommitInTarget"/>, <see cref="TargetIsAncestorOfSourceCommit"/>,
/// <see cref="ProvenanceConfirmed"/>), which are read only then. Likewise with <see cref="Inputs"/> the rule matches the
/// input globs against the changed paths recorded (<see cref="ChangedByMergeRequest"/>, <see cref="ChangedSinceSourceCommit"/>)
/// itself; streams recorded before carry only the shell's booleans (<see cref="InputsChangedByMergeRequest"/>,
/// <see cref="InputsChangedSinceSourceCommit"/>), which are read only then.
/// </remarks>
[GenerateSerializer, Alias("ImageObservation")]
public sealed record ImageObservation(
    [property: Id(0)] string Name,
    [property: Id(1)] string Tag,
    [property: Id(2)] string? TargetTag,
    [property: Id(3)] bool InputsChangedByMergeRequest,
    [property: Id(4)] RegistryImage? Upstream,
    [property: Id(5)] bool UpstreamCommitInTarget,
    [property: Id(6)] RegistryImage? Source,
    [property: Id(7)] bool TargetIsAncestorOfSourceCommit,
    [property: Id(8)] bool InputsChangedSinceSourceCommit,
    [property: Id(9)] bool ProvenanceConfirmed,
    [property: Id(10)] ImageHistory? History = null,
    [property: Id(11)] IReadOnlyList<string>? Inputs = null,
    [property: Id(12)] ChangedPaths? ChangedByMergeRequest = null,
    [property: Id(13)] ChangedPaths? ChangedSinceSourceCommit = null)
{
    /// <summary>The merge request changes what the image is built from (from the recorded paths, or an older stream's boolean).</summary>
    public bool MergeRequestTouchesInputs => Inputs is { } globs ? Freshness.Touches(globs, ChangedByMergeRequest) : InputsChangedByMergeRequest;

    /// <summary>
    /// The inputs changed between the commit the source image was built from and the rebased commit. Where paths are
    /// recorded and none were compared (no source image, or one without a commit label), nothing shows them unchanged.
    /// </summary>
    public bool InputsChangedSinceSource => Inputs is { } globs ? Freshness.Touches(globs, ChangedSinceSourceCommit) : InputsChangedSinceSourceCommit;

    /// <summary>The upstream image was built from a commit of the target branch's history.</summary>
    public bool UpstreamInTarget => History is { } h ? Upstream?.Commit is { } c && h.UpstreamMergeBase == c : UpstreamCommitInTarget;

    /// <summary>The target head is an ancestor of the commit the source image was built from.</summary>
    public bool SourceOnTarget => History is { } h ? h.SourceMergeBase is { } mb && mb == h.TargetSha : TargetIsAncestorOfSourceCommit;

    /// <summary>
    /// The source image was built from one of this merge request's own commits: its commit is an ancestor of the merge
    /// request's head. The target's registry holds images that other pipelines of ours pushed (a fork's merge request runs
    /// its owner's jobs there), and an image of someone else's commit on top of the target is not this request's to reuse.
    /// </summary>
    public bool OwnCommit => History is { MergeRequestHead: not null } h && Source?.Commit is { } c && h.OwnMergeBase == c;

    /// <summary>
    /// No fork owner's job could have pushed the image: the project does not let fork merge requests' pipelines run in it.
    /// The labels bind the image to a job, not the job to the digest (any job that may push to the project's registry can
    /// push any image under the tag with labels copied from a real job, and ci-templates logs no digest it pushed), and a
    /// fork merge request's pipeline run here (ours included) runs its owner's jobs with this registry's push rights.
    /// </summary>
    public bool ShutToForkPipelines => History is { ForkPipelinesRun: false };

    /// <summary>Labels are claims: GitLab confirms that the job they name, of the pipeline they name, built that commit and succeeded.</summary>
    public bool Provenance => History is { } h
        ? Source is { JobId: not null, PipelineId: { } pipeline, Commit: { } commit } && h.SourceJob is { Status: "success" } job
          && job.PipelineId == pipeline && job.Commit == commit
        : ProvenanceConfirmed;
}

/// <summary>The freshness rule, pure: one verdict per image, with the evidence in words.</summary>
public static class Freshness
{
    public static ImageAssessment Assess(ImageObservation o)
    {
        if (o.Tag == o.TargetTag && o.MergeRequestTouchesInputs)
            return new(o.Name, o.Tag, FreshnessVerdict.Unbumped, o.Source?.Commit,
                $"the MR changes the inputs of {o.Name}{Evidence(o.Inputs, o.ChangedByMergeRequest)} but its tag {o.Tag} equals the target branch's");
        if (o.Upstream is { } up && o.UpstreamInTarget)
            return new(o.Name, o.Tag, FreshnessVerdict.Upstream, up.Commit,
                $"{o.Name}:{o.Tag} exists upstream ({up.Digest}) built from {up.Commit}, which is in the target branch", up.Digest);
        // For a fork MR the fork's registry is never read (Source is null): an upstream tag not built from the target's
        // history was left by a failed attempt or another pipeline, and is deleted and rebuilt by our pipeline.
        if (o.Source is null && o.Upstream is { } left)
            return new(o.Name, o.Tag, FreshnessVerdict.Stale, left.Commit,
                $"{o.Name}:{o.Tag} exists upstream ({left.Digest}) built from {left.Commit ?? "an unnamed commit"}, which is not in the target branch");
        if (o.Source is { } src)
        {
            var failed = new List<string>();
            if (!o.SourceOnTarget) failed.Add("the target HEAD is not an ancestor of its fdo.commit");
            if (!o.OwnCommit)
                failed.Add($"its fdo.commit is not one of this merge request's commits (not an ancestor of its head {o.History?.MergeRequestHead ?? "(not observed)"})");
            if (o.InputsChangedSinceSource)
                failed.Add($"its inputs changed between its fdo.commit and the rebased commit{Evidence(o.Inputs, o.ChangedSinceSourceCommit)}");
            if (!o.Provenance) failed.Add($"GitLab does not confirm job {src.JobId} of pipeline {src.PipelineId} built it from {src.Commit}");
            if (!o.ShutToForkPipelines)
                failed.Add((o.History?.ForkPipelinesRun is true ? "this project lets fork merge requests' pipelines run in it"
                    : "GitLab did not show whether this project lets fork merge requests' pipelines run in it") +
                    " (ci_allow_fork_pipelines_to_run_in_parent_project), where a fork owner's job may push any image under this tag " +
                    "with labels copied from a real job, and nothing binds the digest to the job its labels name");
            return failed.Count == 0
                ? new(o.Name, o.Tag, FreshnessVerdict.Fresh, src.Commit, $"{src.Digest} built from {src.Commit}, one of this merge request's commits, on top of the target HEAD, inputs unchanged, provenance confirmed, in a project that runs no fork pipelines", src.Digest)
                : new(o.Name, o.Tag, FreshnessVerdict.Stale, src.Commit, $"{src.Digest} built from {src.Commit}: {string.Join("; ", failed)}");
        }
        return new(o.Name, o.Tag, FreshnessVerdict.Missing, null,
            $"{o.Name}:{o.Tag} is in no registry we trust (the target's; a fork's is never read): our pipeline builds it");
    }

    /// <summary>Reads <c>KEY: value</c> (quoted or not) from a YAML tag file such as Mesa's image-tags.yml.</summary>
    public static string? ReadTag(string? file, string key)
    {
        if (file is null) return null;
        var m = Regex.Match(file, $@"^\s*{Regex.Escape(key)}\s*:\s*[""']?([^""'\s#]+)", RegexOptions.Multiline);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>
    /// Glob match on repository paths: <c>**</c> spans folders, <c>*</c> and <c>?</c> stay within one; everything else is
    /// literal (<see cref="GlobProblem"/> keeps other dialects out of policies). A path may hold any character git allows,
    /// a newline included, so <c>.</c> spans it and the match ends at the path's very end.
    /// </summary>
    public static bool Matches(string glob, string path)
    {
        var pattern = @"\A" + Regex.Escape(glob).Replace(@"\*\*/", "(?:.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + @"\z";
        return Regex.IsMatch(path, pattern, RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// Why an input glob would not mean what its author meant (null: it is fine): character classes, braces and escapes
    /// are other dialects' and would match only themselves, and paths are relative to the repository's root, with no
    /// leading <c>./</c> or <c>/</c>, so such a glob would never match and the image's inputs would always read unchanged.
    /// </summary>
    public static string? GlobProblem(string glob) => glob switch
    {
        "" => "is empty",
        _ when glob.IndexOfAny(['[', ']', '{', '}', '\\']) >= 0 => "uses [ ] { } or \\, which these globs do not support (only *, ** and ?)",
        _ when glob.StartsWith("./", StringComparison.Ordinal) || glob.StartsWith('/') => "must be relative to the repository's root, with no leading ./ or /",
        _ => null,
    };

    /// <summary>
    /// Whether recorded changes touch the inputs: a recorded path matches a glob, or paths that might have were left out
    /// of the record (fail closed), or nothing was compared at all (null: no comparison shows them unchanged).
    /// </summary>
    public static bool Touches(IReadOnlyList<string> globs, ChangedPaths? changed) =>
        changed is null || changed.Omitted > 0 || changed.Incomplete || changed.Paths.Any(p => globs.Any(g => Matches(g, p)));

    /// <summary>What the rule saw, in words for the verdict's reason (nothing for a stream from before paths were recorded).</summary>
    private static string Evidence(IReadOnlyList<string>? globs, ChangedPaths? changed)
    {
        if (globs is null) return "";
        if (changed is null) return " (no comparison could show them unchanged)";
        var matching = changed.Paths.Where(p => globs.Any(g => Matches(g, p))).ToList();
        if (matching.Count > 0)
            return $" ({string.Join(", ", matching.Take(3))}{(matching.Count > 3 ? $" and {matching.Count - 3} more" : "")})";
        if (changed.Incomplete) return " (GitLab did not finish comparing, so paths it did not list count as changed)";
        return $" ({changed.Omitted} changed path(s) that might be its inputs were more than the {ChangedPaths.Cap} recorded, so they count as changed)";
    }

    /// <summary>
    /// The literal start of a glob, before its first wildcard: every path <see cref="Matches"/> accepts begins with it,
    /// so a path that does not can never match (a glob that starts with a wildcard has an empty prefix: every path may).
    /// </summary>
    public static string LiteralPrefix(string glob) => glob.IndexOfAny(['*', '?']) is var i and >= 0 ? glob[..i] : glob;
}

/// <summary>
/// Changed paths of one comparison, as recorded for the freshness rule to match the input globs against: every path that
/// could match one of the image's globs (it starts with a glob's <see cref="Freshness.LiteralPrefix"/>), sorted, at most
/// <see cref="Cap"/> of them; <see cref="Omitted"/> counts those left out beyond the cap, which make the inputs count as
/// changed (fail closed), and <see cref="Total"/> every path the comparison changed. <see cref="Incomplete"/>: GitLab said
/// it did not finish the comparison (its <c>compare_timeout</c>), so the paths are not all of them: changed too.
/// </summary>
[GenerateSerializer, Alias("ChangedPaths")]
public sealed record ChangedPaths(
    [property: Id(0)] IReadOnlyList<string> Paths,
    [property: Id(1)] int Omitted,
    [property: Id(2)] int Total,
    [property: Id(3)] bool Incomplete = false)
{
    /// <summary>Enough for any real change to a CI image's inputs, small enough that an event stays a few kilobytes per image.</summary>
    public const int Cap = 200;

    /// <summary>The bounded record of <paramref name="changed"/> for an image built from <paramref name="globs"/>.</summary>
    public static ChangedPaths Of(IReadOnlyList<string> globs, IEnumerable<string> changed, bool complete = true)
    {
        var all = changed.Distinct().ToList();
        var prefixes = globs.Select(Freshness.LiteralPrefix).Distinct().ToList();
        var candidates = all.Where(p => prefixes.Any(prefix => p.StartsWith(prefix, StringComparison.Ordinal))).Order(StringComparer.Ordinal).ToList();
        return new([.. candidates.Take(Cap)], Math.Max(0, candidates.Count - Cap), all.Count, !complete);
    }
}
