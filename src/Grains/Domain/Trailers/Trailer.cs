namespace Orchestrator.Domain.Trailers;

/// <summary>One <c>Key: value</c> line of a commit message's trailer block.</summary>
[GenerateSerializer, Alias("Trailer")]
public sealed record Trailer([property: Id(0)] string Key, [property: Id(1)] string Value)
{
    public override string ToString() => $"{Key}: {Value}";

    /// <summary>
    /// git's <c>--if-exists addIfDifferent</c>: keys compare case-insensitively (git treats <c>reviewed-by</c> and
    /// <c>Reviewed-by</c> as one token), values exactly once trimmed.
    /// </summary>
    public bool SameAs(Trailer other) =>
        string.Equals(Key.Trim(), other.Key.Trim(), StringComparison.OrdinalIgnoreCase) && Value.Trim() == other.Value.Trim();
}
