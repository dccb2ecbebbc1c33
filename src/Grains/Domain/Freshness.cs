using System.Text.RegularExpressions;

namespace Orchestrator.Domain;

/// <summary>An image as the registry shows it: its digest and the ci-templates labels in its config.</summary>
[GenerateSerializer, Alias("RegistryImage")]
public sealed record RegistryImage(
    [property: Id(0)] string Digest,
    [property: Id(1)] string? Commit,
    [property: Id(2)] long? PipelineId,
    [property: Id(3)] long? JobId);

/// <summary>Everything the freshness rule looks at for one image, gathered by the shell from GitLab and the registry.</summary>
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
    [property: Id(9)] bool ProvenanceConfirmed);

/// <summary>The freshness rule, pure: one verdict per image, with the evidence in words.</summary>
public static class Freshness
{
    public static ImageAssessment Assess(ImageObservation o)
    {
        if (o.Tag == o.TargetTag && o.InputsChangedByMergeRequest)
            return new(o.Name, o.Tag, FreshnessVerdict.Unbumped, o.Source?.Commit,
                $"the MR changes the inputs of {o.Name} but its tag {o.Tag} equals the target branch's");
        if (o.Upstream is { } up && o.UpstreamCommitInTarget)
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
            if (!o.TargetIsAncestorOfSourceCommit) failed.Add("the target HEAD is not an ancestor of its fdo.commit");
            if (o.InputsChangedSinceSourceCommit) failed.Add("its inputs changed between its fdo.commit and the rebased commit");
            if (!o.ProvenanceConfirmed) failed.Add($"GitLab does not confirm job {src.JobId} of pipeline {src.PipelineId} built it from {src.Commit}");
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
