namespace Orchestrator.Domain.Policies;

/// <summary>Which variable holds an image's tag, as a project would bump it.</summary>
public static class TagVariables
{
    /// <summary>
    /// The variables <c>FDO_DISTRIBUTION_TAG</c> rests on, in order: references to the job's own variables are followed
    /// (Mesa's <c>"${MESA_IMAGE_TAG}--${MESA_TEMPLATES_COMMIT}"</c> with <c>MESA_IMAGE_TAG: $DEBIAN_BUILD_TAG</c> gives
    /// <c>DEBIAN_BUILD_TAG</c>, <c>MESA_TEMPLATES_COMMIT</c>), predefined <c>CI_*</c> ones dropped. A tag file defines
    /// the project's tags at the top level, so only the names left — global or defined nowhere in the config — can be
    /// the one a merge request bumps.
    /// </summary>
    public static IReadOnlyList<string> Candidates(ImageBuildJob job)
    {
        var candidates = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Follow(string? value)
        {
            foreach (var name in CiYaml.References(value))
            {
                if (!seen.Add(name) || name.StartsWith("CI_", StringComparison.Ordinal)) continue;
                if (job.JobVariables.TryGetValue(name, out var own)) Follow(own);
                else candidates.Add(name);
            }
        }
        Follow(job.JobVariables.GetValueOrDefault("FDO_DISTRIBUTION_TAG") ?? job.GlobalVariables.GetValueOrDefault("FDO_DISTRIBUTION_TAG"));
        return candidates;
    }
}
