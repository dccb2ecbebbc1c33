using System.Text.RegularExpressions;

namespace Orchestrator.Domain;

/// <summary>The docker executor's own account of the image a job ran in: the name the job asked for, the digest it got.</summary>
[GenerateSerializer, Alias("RunnerImageLine")]
public sealed record RunnerImageLine([property: Id(0)] string Image, [property: Id(1)] string Digest);

/// <summary>
/// Reads what GitLab Runner wrote in a job log while preparing the executor. The docker executor prints
/// <c>Using docker image sha256:… for &lt;image&gt; with digest &lt;repo&gt;@sha256:… ...</c> there, before anything of the
/// job's runs; everything after the first <c>prepare_executor</c> section — hooks in <c>get_sources</c>, the script, a
/// later line that merely looks like a section marker — is text the merge request's code can write, and is never read.
/// Only a whole segment counts, and only when its repository is the image's own. Pure: the log in, the runner's lines out.
/// </summary>
public static partial class RunnerLog
{
    /// <summary>The runner's image lines of one job log, and whether the executor's preparation section was seen.</summary>
    public static (IReadOnlyList<RunnerImageLine> Lines, bool Prepared) ImageLines(string log)
    {
        var lines = new List<RunnerImageLine>();
        var inside = false;
        // Segments end at a line feed or a carriage return: the runner's section markers end with one.
        foreach (var segment in log.Split('\n', '\r'))
        {
            var line = Ansi().Replace(segment, "");
            if (!inside)
            {
                if (Section().Match(line) is { Success: true } start && start.Groups["kind"].Value == "start" && start.Groups["name"].Value == "prepare_executor")
                    inside = true;
                else if (Section().IsMatch(line))
                    return (lines, false);
                continue;
            }
            if (Section().Match(line) is { Success: true } marker)
                return (lines, marker.Groups["kind"].Value == "end" && marker.Groups["name"].Value == "prepare_executor");
            if (ImageLine().Match(line) is { Success: true } m && SameRepository(m.Groups["image"].Value, m.Groups["repo"].Value))
                lines.Add(new RunnerImageLine(m.Groups["image"].Value, m.Groups["digest"].Value));
        }
        return (lines, false);
    }

    /// <summary>The repository part of an image reference (no tag, no digest), lower case as registries compare it.</summary>
    public static string Repository(string reference)
    {
        var at = reference.IndexOf('@');
        var name = at < 0 ? reference : reference[..at];
        var colon = name.LastIndexOf(':');
        return (colon > name.LastIndexOf('/') ? name[..colon] : name).ToLowerInvariant();
    }

    private static bool SameRepository(string image, string repo) => Repository(image) == Repository(repo);

    [GeneratedRegex(@"\x1b\[[0-9;]*[A-Za-z]")]
    private static partial Regex Ansi();

    [GeneratedRegex(@"^section_(?<kind>start|end):\d+:(?<name>[A-Za-z0-9_]+)(\[[^\]]*\])?$")]
    private static partial Regex Section();

    [GeneratedRegex(@"^Using docker image sha256:[0-9a-f]{64} for (?<image>\S+) with digest (?<repo>\S+)@(?<digest>sha256:[0-9a-f]{64}) \.\.\.$")]
    private static partial Regex ImageLine();
}
