using System.Text.RegularExpressions;

namespace Orchestrator.Domain;

/// <summary>The docker executor's own account of the image a job ran in: the name the job asked for, the digest it got.</summary>
[GenerateSerializer, Alias("RunnerImageLine")]
public sealed record RunnerImageLine([property: Id(0)] string Image, [property: Id(1)] string Digest);

/// <summary>
/// Reads what GitLab Runner wrote in a job log before the job's script began. The docker executor prints
/// <c>Using docker image sha256:… for &lt;image&gt; with digest &lt;repo&gt;@sha256:… ...</c> while preparing the job;
/// everything from the <c>step_script</c> section on is the job's own output, which the merge request's code controls,
/// so a line there proves nothing and is never read. Pure: the log in, the runner's lines out.
/// </summary>
public static partial class RunnerLog
{
    /// <summary>The runner's image lines of one job log, and whether the script section was seen at all.</summary>
    public static (IReadOnlyList<RunnerImageLine> Lines, bool ScriptStarted) ImageLines(string log)
    {
        var lines = new List<RunnerImageLine>();
        foreach (var raw in log.Split('\n'))
        {
            // A carriage return lets later text overwrite a line on screen; the runner's markers use it, so split there too.
            foreach (var segment in raw.Split('\r'))
            {
                var line = Ansi().Replace(segment, "");
                if (ScriptSection().IsMatch(line)) return (lines, true);
                if (ImageLine().Match(line) is { Success: true } m)
                    lines.Add(new RunnerImageLine(m.Groups["image"].Value, m.Groups["digest"].Value));
            }
        }
        return (lines, false);
    }

    [GeneratedRegex(@"\x1b\[[0-9;]*[A-Za-z]")]
    private static partial Regex Ansi();

    [GeneratedRegex(@"^section_start:\d+:step_script(\[[^\]]*\])?$")]
    private static partial Regex ScriptSection();

    [GeneratedRegex(@"^Using docker image sha256:[0-9a-f]{64} for (?<image>\S+) with digest \S+@(?<digest>sha256:[0-9a-f]{64}) \.\.\.$")]
    private static partial Regex ImageLine();
}
