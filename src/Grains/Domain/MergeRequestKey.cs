using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Orchestrator.Domain;

/// <summary>A merge request as GitLab names it: the numeric project id and the MR's iid in that project.</summary>
[GenerateSerializer, Alias("MergeRequestKey")]
public readonly record struct MergeRequestKey([property: Id(0)] long ProjectId, [property: Id(1)] long Iid)
{
    /// <summary>The grain key, e.g. <c>278964/1203</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ProjectId}/{Iid}");

    /// <summary>The Marten stream that holds this merge request's workflow.</summary>
    public string StreamKey => string.Create(CultureInfo.InvariantCulture, $"mr-{ProjectId}-{Iid}");

    public static bool TryParse(string? text, [NotNullWhen(true)] out MergeRequestKey? key)
    {
        key = null;
        var parts = text?.Split('/');
        if (parts is not { Length: 2 }
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var project)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iid)
            || project <= 0 || iid <= 0)
            return false;
        key = new MergeRequestKey(project, iid);
        return true;
    }

    public static MergeRequestKey Parse(string text) =>
        TryParse(text, out var key) ? key.Value : throw new FormatException($"'{text}' is not a merge request key (project/iid)");
}
