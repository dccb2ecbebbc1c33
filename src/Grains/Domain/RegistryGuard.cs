namespace Orchestrator.Domain;

/// <summary>A tag of the target's registry and the digest it pointed at (null: absent).</summary>
[GenerateSerializer, Alias("TagDigest")]
public sealed record TagDigest([property: Id(0)] string Repository, [property: Id(1)] string Tag, [property: Id(2)] string? Digest);

/// <summary>
/// Our pipeline runs the merge request's code with push rights to the target's registry. Comparing the tags before it
/// was created with the tags after it ended shows anything it changed besides what this attempt builds or deleted. Pure.
/// </summary>
public static class RegistryGuard
{
    public static IReadOnlyList<string> UnexpectedChanges(IReadOnlyList<TagDigest> before, IReadOnlyList<TagDigest> after,
        IReadOnlyCollection<(string Repository, string Tag)> expected)
    {
        static string Key(TagDigest t) => $"{t.Repository}:{t.Tag}";
        var was = before.ToDictionary(Key, t => t.Digest);
        var now = after.ToDictionary(Key, t => t.Digest);
        var changes = new List<string>();
        foreach (var key in was.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var (old, @new) = (was.GetValueOrDefault(key), now.GetValueOrDefault(key));
            if (old == @new || expected.Any(e => $"{e.Repository}:{e.Tag}" == key)) continue;
            changes.Add($"{key} changed from {old ?? "absent"} to {@new ?? "absent"}");
        }
        return changes;
    }
}
