namespace Orchestrator.Domain.Policies;

/// <summary>
/// One job of the CI configuration that builds a container image with ci-templates, with what the suggestion needs
/// from it. <paramref name="JobVariables"/> are the job's own (its <c>extends</c> chain included); <paramref
/// name="GlobalVariables"/> the top-level ones it inherits.
/// </summary>
public sealed record ImageBuildJob(
    string Job,
    string? Distribution,
    IReadOnlyDictionary<string, string> JobVariables,
    IReadOnlyDictionary<string, string> GlobalVariables)
{
    /// <summary>A variable as the job sees it: its own definition wins over the global one.</summary>
    public string? Variable(string name) =>
        name == "CI_JOB_NAME" ? Job : JobVariables.GetValueOrDefault(name) ?? GlobalVariables.GetValueOrDefault(name);

    /// <summary>The value with the job's variables expanded (a few rounds: variables may refer to variables).</summary>
    public string? Expanded(string name)
    {
        var value = Variable(name);
        for (var round = 0; value is not null && value.Contains('$') && round < 8; round++)
        {
            var next = CiYaml.Expand(value, Variable);
            if (next == value) break;
            value = next;
        }
        return value;
    }
}
