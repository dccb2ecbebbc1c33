namespace Orchestrator.Domain;

/// <summary>
/// Forcing is for stale images only (ci-templates builds a missing one anyway): through the image's own
/// <c>forceVariable</c> where the policy names one, else <c>FDO_FORCE_REBUILD</c> for the whole pipeline.
/// </summary>
public static class ForceVariables
{
    public static IReadOnlyDictionary<string, string> For(IEnumerable<ImageState> images, ProjectPolicy policy)
    {
        var variables = new Dictionary<string, string>();
        foreach (var image in images.Where(i => i.Verdict == FreshnessVerdict.Stale))
            variables[policy.Images.FirstOrDefault(p => p.Name == image.Name)?.ForceVariable is { Length: > 0 } own ? own : "FDO_FORCE_REBUILD"] = "1";
        return variables;
    }
}
