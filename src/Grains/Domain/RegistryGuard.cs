namespace Orchestrator.Domain;

/// <summary>A tag of the target's registry and the digest it pointed at (null: absent).</summary>
[GenerateSerializer, Alias("TagDigest")]
public sealed record TagDigest([property: Id(0)] string Repository, [property: Id(1)] string Tag, [property: Id(2)] string? Digest);

/// <summary>
/// A tag our pipeline changed without business to, and how it is taken back: to <paramref name="Before"/>, the digest it
/// held before our pipeline (null: it was absent, so it is deleted), only while it still holds <paramref name="Tampered"/>,
/// what the guard saw after (null: the pipeline deleted it).
/// </summary>
[GenerateSerializer, Alias("TagRestore")]
public sealed record TagRestore(
    [property: Id(0)] string Repository,
    [property: Id(1)] string Tag,
    [property: Id(2)] string? Before,
    [property: Id(3)] string? Tampered);

/// <summary>
/// Our pipeline runs the merge request's code with push rights to the target's registry. Comparing the tags before it
/// was created with the tags after it ended shows anything it changed besides what this attempt builds or deleted. Pure.
/// </summary>
public static class RegistryGuard
{
    public static IReadOnlyList<string> UnexpectedChanges(IReadOnlyList<TagDigest> before, IReadOnlyList<TagDigest> after,
        IReadOnlyCollection<(string Repository, string Tag)> expected) =>
        [.. Unexpected(before, after, expected).Select(c => $"{c.Repository}:{c.Tag} changed from {c.Before ?? "absent"} to {c.Tampered ?? "absent"}")];

    /// <summary>
    /// Every unexpected change, to be taken back: a tag that held a digest gets it again (a tag main uses included: the
    /// fork owner's image never stays under it), a tag that was absent is deleted.
    /// </summary>
    public static IReadOnlyList<TagRestore> Unexpected(IReadOnlyList<TagDigest> before, IReadOnlyList<TagDigest> after,
        IReadOnlyCollection<(string Repository, string Tag)> expected)
    {
        static (string, string) Key(TagDigest t) => (t.Repository, t.Tag);
        var was = before.ToDictionary(Key, t => t.Digest);
        var now = after.ToDictionary(Key, t => t.Digest);
        var changes = new List<TagRestore>();
        foreach (var (repository, tag) in was.Keys.Union(now.Keys).OrderBy(k => $"{k.Item1}:{k.Item2}", StringComparer.Ordinal))
        {
            var (old, @new) = (was.GetValueOrDefault((repository, tag)), now.GetValueOrDefault((repository, tag)));
            if (old == @new || expected.Any(e => e.Repository == repository && e.Tag == tag)) continue;
            changes.Add(new TagRestore(repository, tag, old, @new));
        }
        return changes;
    }

    /// <summary>
    /// The restores to make, given what other merge requests' pipelines in the same registry were found to have planted
    /// (<paramref name="elsewhere"/>): a tag is never put back to a digest another one recorded as planted, but to what
    /// that one recorded as there before it (followed back, each record at most once), or deleted when the digest was
    /// planted under another tag. A change that only undid another's planting (the tag holds what was there before it)
    /// is no tampering of ours: it is <c>Explained</c>, and neither alerted nor taken back.
    /// </summary>
    public static (IReadOnlyList<(string Repository, string Tag)> Explained, IReadOnlyList<TagRestore> Restores) Elsewhere(
        IReadOnlyList<TagRestore> unexpected, IReadOnlyList<TagRestore>? elsewhere)
    {
        if (elsewhere is not { Count: > 0 }) return ([], unexpected);
        var explained = new List<(string, string)>();
        var restores = new List<TagRestore>();
        foreach (var r in unexpected)
        {
            var before = r.Before;
            for (var hops = 0; before is not null && elsewhere.Any(e => e.Tampered == before); hops++)
                before = hops == elsewhere.Count ? null
                    : elsewhere.FirstOrDefault(e => e.Repository == r.Repository && e.Tag == r.Tag && e.Tampered == before)?.Before;
            if (before == r.Tampered && before != r.Before) explained.Add((r.Repository, r.Tag));
            else restores.Add(r with { Before = before });
        }
        return (explained, restores);
    }
}
