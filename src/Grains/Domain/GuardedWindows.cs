namespace Orchestrator.Domain;

/// <summary>
/// When other merge requests' guarded pipelines ran in the same registry. A snapshot taken while another one ran may hold
/// what that pipeline's jobs planted as "before", and a planting its owner undid before his own pipeline ended is in no
/// record: giving a tag back its "before" could then plant it again with the bot's rights.
/// </summary>
public static class GuardedWindows
{
    /// <summary>
    /// The streams whose guarded window was open at <paramref name="at"/>: their latest <see cref="PipelinePrepared"/> at or
    /// before it has no read of the registry after it (<see cref="RegistryChecked"/>, <see cref="BuildVerified"/>,
    /// <see cref="BuildRejected"/>) at or before it.
    /// </summary>
    public static IReadOnlyList<string> OpenAt(IEnumerable<(string Stream, IWorkflowEvent Event)> events, DateTimeOffset at) =>
        [.. events.Where(e => e.Event.At <= at).GroupBy(e => e.Stream)
            .Where(stream => stream.Where(e => e.Event is PipelinePrepared).Select(e => e.Event.At).DefaultIfEmpty().Max() is var prepared
                && prepared != default
                && !stream.Any(e => e.Event is RegistryChecked or BuildVerified or BuildRejected && e.Event.At >= prepared))
            .Select(stream => stream.Key).Order(StringComparer.Ordinal)];

    /// <summary>Restores after a snapshot that overlapped another guarded window: each tag is deleted rather than given back a "before" that window may have planted.</summary>
    public static IReadOnlyList<TagRestore> Distrust(IReadOnlyList<TagRestore> restores, IReadOnlyList<string>? overlappedBy) =>
        overlappedBy is { Count: > 0 } ? [.. restores.Select(r => r with { Before = null })] : restores;
}
