namespace Orchestrator.Domain;

/// <summary>One image the project builds with ci-templates, and where its tag and build inputs live.</summary>
[GenerateSerializer, Alias("ImagePolicy")]
public sealed record ImagePolicy(
    [property: Id(0)] string Name,
    [property: Id(1)] string TagFile,
    [property: Id(2)] string TagKey,
    [property: Id(3)] IReadOnlyList<string> Inputs);

/// <summary>How the orchestrator merges one GitLab project's merge requests.</summary>
[GenerateSerializer, Alias("ProjectPolicy")]
public sealed record ProjectPolicy(
    [property: Id(0)] IReadOnlyList<ImagePolicy> Images,
    [property: Id(1)] string? UpstreamRepo,
    [property: Id(2)] int RequiredApprovals,
    [property: Id(3)] int CiTimeoutMinutes,
    [property: Id(4)] int MaxRebases,
    [property: Id(5)] bool AllowUnbumpedInputs)
{
    public static readonly ProjectPolicy Default = new([], null, 0, 60, 3, false);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (CiTimeoutMinutes is < 1 or > 24 * 60) errors.Add("ciTimeoutMinutes must be between 1 and 1440");
        if (MaxRebases is < 0 or > 100) errors.Add("maxRebases must be between 0 and 100");
        if (RequiredApprovals is < 0 or > 100) errors.Add("requiredApprovals must be between 0 and 100");
        foreach (var image in Images ?? [])
        {
            if (string.IsNullOrWhiteSpace(image.Name) || image.Name.Contains(':')) errors.Add("images[].name must be a registry suffix such as debian/x86_64_build");
            if (string.IsNullOrWhiteSpace(image.TagFile)) errors.Add($"images[{image.Name}].tagFile is required");
            if (string.IsNullOrWhiteSpace(image.TagKey)) errors.Add($"images[{image.Name}].tagKey is required");
        }
        if (Images is { Count: > 0 } && string.IsNullOrWhiteSpace(UpstreamRepo)) errors.Add("upstreamRepo is required when images are listed");
        return errors;
    }
}
