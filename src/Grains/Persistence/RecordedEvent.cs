namespace Orchestrator.Persistence;

/// <summary>One event as stored: its position in the stream, stable type name, time and JSON body.</summary>
[GenerateSerializer, Alias("RecordedEvent")]
public sealed record RecordedEvent(
    [property: Id(0)] long Version,
    [property: Id(1)] string Type,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string Data);
