namespace Orchestrator.Domain.Trailers;

/// <summary>
/// Adds trailers to a commit message as <c>git interpret-trailers --no-divider --if-exists addIfDifferent</c> does on
/// a cleaned-up message (what <c>git commit</c> stores): appended to the last paragraph when git would read it as a
/// trailer block, else after a blank line. Differences, on purpose: existing lines are kept byte for byte (git
/// reformats them, turning <c>https://x</c> into <c>https: //x</c>); trailing blank lines are dropped and a missing
/// final newline added, as <c>git commit</c>'s clean-up would (git would glue the trailer to an unterminated subject);
/// <c>#</c> lines are text (a stored message has no comments). A commit message is not an e-mail: a <c>---</c> line is text.
/// </summary>
public static class CommitTrailers
{
    /// <summary>Lines git writes itself, which make a mixed last paragraph count as trailers (trailer.c).</summary>
    private static readonly string[] GitGeneratedPrefixes = ["Signed-off-by: ", "(cherry picked from commit "];

    public static string Add(string message, IEnumerable<Trailer> trailers)
    {
        var lines = CleanLines(message);
        var blockStart = TrailerBlockStart(lines);
        var existing = blockStart is { } start ? Parse(lines.Skip(start)) : [];
        var added = new List<Trailer>();
        foreach (var t in trailers)
            if (!existing.Any(t.SameAs) && !added.Any(t.SameAs)) added.Add(t);
        if (added.Count == 0) return lines.Count == 0 ? "" : string.Join('\n', lines) + "\n";

        var text = string.Join('\n', lines);
        // git separates new trailers from a message that has none by a blank line (an empty message included).
        var separator = blockStart is null ? (lines.Count == 0 ? "\n" : text + "\n\n") : text + "\n";
        return separator + string.Concat(added.Select(t => t + "\n"));
    }

    /// <summary>The trailers of the message's trailer block (none when its last paragraph is not one).</summary>
    public static IReadOnlyList<Trailer> Read(string message)
    {
        var lines = CleanLines(message);
        return TrailerBlockStart(lines) is { } start ? Parse(lines.Skip(start)) : [];
    }

    /// <summary>The message's lines without trailing blank lines, as git commit's clean-up leaves them.</summary>
    private static List<string> CleanLines(string message)
    {
        var lines = message.Replace("\r\n", "\n").Split('\n').ToList();
        while (lines.Count > 0 && string.IsNullOrWhiteSpace(lines[^1])) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>
    /// trailer.c's find_trailer_block_start: the first paragraph is the title and never trailers; the last paragraph
    /// is a block when all its lines are trailers (or their indented continuations), or when git wrote one of them
    /// and trailers make at least a quarter of it.
    /// </summary>
    private static int? TrailerBlockStart(List<string> lines)
    {
        var endOfTitle = lines.FindIndex(string.IsNullOrWhiteSpace);
        if (endOfTitle < 0) return null;
        int trailerLines = 0, nonTrailerLines = 0, continuations = 0;
        var recognised = false;
        for (var i = lines.Count - 1; i > endOfTitle; i--)
        {
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line))
                return IsBlock(trailerLines, nonTrailerLines + continuations, recognised) ? i + 1 : null;
            if (GitGeneratedPrefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal)))
            {
                trailerLines++;
                continuations = 0;
                recognised = true;
            }
            else if (SeparatorAt(line) >= 1)
            {
                trailerLines++;
                continuations = 0;
            }
            else if (char.IsWhiteSpace(line[0]))
            {
                continuations++;
            }
            else
            {
                nonTrailerLines += 1 + continuations;
                continuations = 0;
            }
        }
        return IsBlock(trailerLines, nonTrailerLines + continuations, recognised) ? endOfTitle + 1 : null;
    }

    private static bool IsBlock(int trailerLines, int nonTrailerLines, bool recognised) =>
        (recognised && trailerLines * 3 >= nonTrailerLines) || (trailerLines > 0 && nonTrailerLines == 0);

    /// <summary>trailer.c's find_separator: a token of letters, digits and dashes, optional blanks, then <c>:</c>.</summary>
    private static int SeparatorAt(string line)
    {
        var whitespace = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == ':') return i;
            if (!whitespace && (char.IsAsciiLetterOrDigit(c) || c == '-')) continue;
            if (i > 0 && c is ' ' or '\t')
            {
                whitespace = true;
                continue;
            }
            break;
        }
        return -1;
    }

    private static List<Trailer> Parse(IEnumerable<string> block) =>
        [.. block.Select(l => (Line: l, At: SeparatorAt(l))).Where(x => x.At >= 1)
            .Select(x => new Trailer(x.Line[..x.At].TrimEnd(), x.Line[(x.At + 1)..].Trim()))];
}
