namespace Orchestrator.Domain;

/// <summary>
/// What the orchestrator leaves in GitLab so it can find its own work again after a crash: a variable on each pipeline
/// it creates, naming the attempt and rebase it was made for, and a hidden line at the end of each outcome note. Made
/// here only, so the workflow that writes them and the tests that look for them cannot drift apart.
/// </summary>
public static class Markers
{
    /// <summary>The pipeline variable that carries <see cref="Pipeline"/>.</summary>
    public const string PipelineVariable = "ORCHESTRATOR_ATTEMPT";

    /// <summary>The beginning every outcome note's marker shares.</summary>
    public const string NotePrefix = "<!-- orchestrator ";

    public static string Pipeline(MergeRequestKey key, int attempt, int rebases) => $"{key}#{attempt}.{rebases}";

    public static string Note(MergeRequestKey key, int attempt) => $"{NotePrefix}{key} attempt {attempt} -->";

    /// <summary>The note announcing a merge request's car of a merge train.</summary>
    public static string CarNote(MergeRequestKey key, int attempt, string carId) => $"{NotePrefix}{key} attempt {attempt} {carId} -->";
}
