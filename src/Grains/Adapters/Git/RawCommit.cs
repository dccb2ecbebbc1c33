using System.Text;

namespace Orchestrator.Adapters.Git;

/// <summary>
/// A commit object as git stores it. The rewrite writes commit objects itself rather than through
/// <c>git commit-tree</c>, so the author line is copied byte for byte (commit-tree would re-normalise a name) and
/// nothing read from the environment or the clock can slip in.
/// </summary>
internal sealed record RawCommit(string Tree, IReadOnlyList<string> Parents, string Author, string? Encoding, string Message)
{
    public static RawCommit Parse(byte[] data)
    {
        var split = IndexOfBlankLine(data);
        var headers = System.Text.Encoding.UTF8.GetString(data, 0, split < 0 ? data.Length : split).Split('\n');
        string? tree = null, author = null, encoding = null;
        var parents = new List<string>();
        foreach (var line in headers)
        {
            // A signature (gpgsig, mergetag) spans indented lines; it is dropped: it would not match the rewrite.
            if (line.StartsWith(' ')) continue;
            var space = line.IndexOf(' ');
            if (space < 0) continue;
            var (key, value) = (line[..space], line[(space + 1)..]);
            switch (key)
            {
                case "tree": tree = value; break;
                case "parent": parents.Add(value); break;
                case "author": author = value; break;
                case "encoding": encoding = value; break;
            }
        }
        var body = split < 0 ? [] : data.AsSpan(split + 2);
        return new RawCommit(tree ?? throw new FormatException("commit without a tree"), parents,
            author ?? throw new FormatException("commit without an author"), encoding, TextEncoding(encoding).GetString(body));
    }

    /// <summary>The object bytes of a commit with these fields; the message's encoding follows the original's.</summary>
    public byte[] Format(GitCommitter committer)
    {
        var head = new StringBuilder();
        head.Append("tree ").Append(Tree).Append('\n');
        foreach (var p in Parents) head.Append("parent ").Append(p).Append('\n');
        head.Append("author ").Append(Author).Append('\n');
        head.Append("committer ").Append(Signature(committer)).Append('\n');
        if (Encoding is not null) head.Append("encoding ").Append(Encoding).Append('\n');
        head.Append('\n');
        return [.. System.Text.Encoding.UTF8.GetBytes(head.ToString()), .. TextEncoding(Encoding).GetBytes(Message)];
    }

    /// <summary><c>Name &lt;email&gt; &lt;unix seconds&gt; &lt;+hhmm&gt;</c>, git's internal form.</summary>
    public static string Signature(GitCommitter c)
    {
        if ($"{c.Name}{c.Email}".IndexOfAny(['<', '>', '\n', '\r', '\0']) >= 0)
            throw new ArgumentException("a committer name or e-mail cannot hold <, > or a line break", nameof(c));
        var offset = c.When.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var zone = $"{sign}{Math.Abs(offset.Hours):00}{Math.Abs(offset.Minutes):00}";
        return $"{c.Name} <{c.Email}> {c.When.ToUnixTimeSeconds()} {zone}";
    }

    /// <summary>
    /// UTF-8 unless the commit says otherwise; any other declared encoding is carried through Latin-1, which maps each
    /// byte to one character and back, so the original text survives unchanged.
    /// </summary>
    private static Encoding TextEncoding(string? declared) =>
        declared is null || declared.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || declared.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? new UTF8Encoding(false)
            : System.Text.Encoding.Latin1;

    private static int IndexOfBlankLine(byte[] data)
    {
        for (var i = 0; i + 1 < data.Length; i++)
            if (data[i] == '\n' && data[i + 1] == '\n') return i;
        return -1;
    }
}
