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
        [.. events.Where(e => e.Event.At <= at).GroupBy(e => e.Stream, e => e.Event).Where(Open).Select(stream => stream.Key).Order(StringComparer.Ordinal)];

    private static bool Open(IEnumerable<IWorkflowEvent> stream) =>
        stream.OfType<PipelinePrepared>().MaxBy(p => p.At) is { } prepared
        && !stream.Any(e => e is RegistryChecked or BuildVerified or BuildRejected && e.At >= prepared.At);

    /// <summary>Restores after a snapshot that overlapped another guarded window: each tag is deleted rather than given back a "before" that window may have planted.</summary>
    public static IReadOnlyList<TagRestore> Distrust(IReadOnlyList<TagRestore> restores, IReadOnlyList<string>? overlappedBy) =>
        overlappedBy is { Count: > 0 } ? [.. restores.Select(r => r with { Before = null })] : restores;
}
