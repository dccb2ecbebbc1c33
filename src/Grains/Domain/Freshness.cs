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
/// upstream image's commit with it, the merge base of the source image's commit with it, and the job that claims to have
/// built the source image. The rule compares them; the shell only asks.
/// </summary>
[GenerateSerializer, Alias("ImageHistory")]
public sealed record ImageHistory(
    [property: Id(0)] string TargetSha,
    [property: Id(1)] string? UpstreamMergeBase,
    [property: Id(2)] string? SourceMergeBase,
    [property: Id(3)] SourceJob? SourceJob);

/// <summary>Everything the freshness rule looks at for one image, gathered by the shell from GitLab and the registry.</summary>
/// <remarks>
/// With <see cref="History"/> the rule reads git's answers itself; streams recorded before it carry the shell's
/// conclusions instead (<see cref="UpstreamCommitInTarget"/>, <see cref="TargetIsAncestorOfSourceCommit"/>,
/// <see cref="ProvenanceConfirmed"/>), which are read only then.
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
    [property: Id(10)] ImageHistory? History = null)
{
    /// <summary>The upstream image was built from a commit of the target branch's history.</summary>
    public bool UpstreamInTarget => History is { } h ? Upstream?.Commit is { } c && h.UpstreamMergeBase == c : UpstreamCommitInTarget;

    /// <summary>The target head is an ancestor of the commit the source image was built from.</summary>
    public bool SourceOnTarget => History is { } h ? h.SourceMergeBase is { } mb && mb == h.TargetSha : TargetIsAncestorOfSourceCommit;

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
        if (o.Tag == o.TargetTag && o.InputsChangedByMergeRequest)
            return new(o.Name, o.Tag, FreshnessVerdict.Unbumped, o.Source?.Commit,
                $"the MR changes the inputs of {o.Name} but its tag {o.Tag} equals the target branch's");
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
            if (o.InputsChangedSinceSourceCommit) failed.Add("its inputs changed between its fdo.commit and the rebased commit");
            if (!o.Provenance) failed.Add($"GitLab does not confirm job {src.JobId} of pipeline {src.PipelineId} built it from {src.Commit}");
            return failed.Count == 0
                ? new(o.Name, o.Tag, FreshnessVerdict.Fresh, src.Commit, $"{src.Digest} built from {src.Commit} on top of the target HEAD, inputs unchanged, provenance confirmed", src.Digest)
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

    /// <summary>Glob match on repository paths: <c>**</c> spans folders, <c>*</c> and <c>?</c> stay within one.</summary>
    public static bool Matches(string glob, string path)
    {
        var pattern = "^" + Regex.Escape(glob).Replace(@"\*\*/", "(?:.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$";
        return Regex.IsMatch(path, pattern);
    }

    public static bool TouchesInputs(ImagePolicy image, IEnumerable<string> changedPaths) =>
        changedPaths.Any(p => image.Inputs.Any(g => Matches(g, p)));
}
