namespace Orchestrator.Domain.Policies;

/// <summary>
/// A policy suggested from a project's CI configuration, for an admin to review and <c>PUT</c>: one image per
/// ci-templates build job. Only the images, their tag and inputs, and <c>upstreamRepo</c> come from the configuration;
/// the rest keeps <see cref="ProjectPolicy"/>'s defaults.
/// </summary>
public static class PolicySuggestion
{
    /// <summary>
    /// The suggestion for <paramref name="ciConfig"/> (GitLab's merged YAML: local includes resolved), reading tag files
    /// with <paramref name="readFile"/> (repository path → text, null when absent); null when the project builds no
    /// ci-templates images. An image whose tag variable no file defines keeps an empty <c>tagFile</c> (and the variable,
    /// or <c>FDO_DISTRIBUTION_TAG</c>, as <c>tagKey</c>), and an image whose name cannot be told keeps an empty name:
    /// the policy then fails validation, so storing it unexamined is refused rather than an image left unchecked.
    /// </summary>
    public static async Task<ProjectPolicy?> SuggestAsync(string ciConfig, Func<string, CancellationToken, Task<string?>> readFile,
        CancellationToken ct = default)
    {
        var jobs = ImageBuildJobs.Find(CiYaml.Root(ciConfig));
        if (jobs.Count == 0) return null;
        var definitions = await TagDefinitions.ReadAsync(readFile, ct);
        var images = new List<ImagePolicy>();
        foreach (var job in jobs)
        {
            var image = Image(job, definitions);
            if (images.All(i => i.Name != image.Name || image.Name.Length == 0)) images.Add(image);
        }
        var upstream = jobs.Select(j => j.Expanded("FDO_UPSTREAM_REPO")).FirstOrDefault(u => !string.IsNullOrWhiteSpace(u));
        return new ProjectPolicy(images, upstream);
    }

    private static ImagePolicy Image(ImageBuildJob job, TagDefinitions definitions)
    {
        var name = Name(job);
        var candidates = TagVariables.Candidates(job);
        var (tagKey, tagFile) = candidates.Select(c => (c, definitions.FileDefining(c))).FirstOrDefault(d => d.Item2 is not null);
        tagKey ??= candidates.FirstOrDefault() ?? "FDO_DISTRIBUTION_TAG";
        return new ImagePolicy(name, tagFile ?? "", tagKey, BuildInputs.Globs(job.Expanded("FDO_DISTRIBUTION_EXEC"), job.Distribution, name));
    }

    /// <summary>
    /// <c>FDO_REPO_SUFFIX</c> expanded (Mesa sets it to <c>$CI_JOB_NAME</c>); without it, ci-templates names the image
    /// <c>&lt;distribution&gt;/$FDO_DISTRIBUTION_VERSION</c> (what <c>.fdo.distribution-image@&lt;distro&gt;</c> pulls).
    /// </summary>
    private static string Name(ImageBuildJob job)
    {
        var suffix = job.Expanded("FDO_REPO_SUFFIX");
        if (!string.IsNullOrWhiteSpace(suffix)) return suffix;
        var version = job.Expanded("FDO_DISTRIBUTION_VERSION");
        return job.Distribution is null || string.IsNullOrWhiteSpace(version) ? "" : $"{job.Distribution}/{version}";
    }
}
