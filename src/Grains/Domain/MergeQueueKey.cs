using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Orchestrator.Domain;

/// <summary>A target branch's queue: the numeric project id and the branch name (which may itself contain slashes).</summary>
public readonly record struct MergeQueueKey(long ProjectId, string Branch)
{
    /// <summary>The queue grain's key and its document id, e.g. <c>278964/main</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ProjectId}/{Branch}");

    public static bool TryParse(string? text, [NotNullWhen(true)] out MergeQueueKey? key)
    {
        key = null;
        var slash = text?.IndexOf('/') ?? -1;
        if (slash <= 0 || slash == text!.Length - 1
            || !long.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var project))
            return false;
        key = new MergeQueueKey(project, text[(slash + 1)..]);
        return true;
    }

    public static MergeQueueKey Parse(string text) =>
        TryParse(text, out var key) ? key.Value : throw new FormatException($"'{text}' is not a merge queue key (project/branch)");
}
