namespace Sandbox.Git;

/// <summary>
/// What a push asks of CI: GitLab's push options <c>ci.skip</c> and <c>ci.variable="KEY=value"</c> (git push -o),
/// or the API's <c>skip_ci</c>. Options GitLab does not know are ignored, as it ignores them.
/// </summary>
public sealed record PushOptions(bool SkipCi, IReadOnlyList<KeyValuePair<string, string>> Variables)
{
    public static readonly PushOptions None = new(false, []);

    public static PushOptions SkippingCi(bool skip) => skip ? new(true, []) : None;

    /// <summary>GitLab's Gitlab::PushOptions: <c>namespace.key[=value]</c>; a variable's value splits at its first <c>=</c>.</summary>
    public static PushOptions Parse(IEnumerable<string> raw)
    {
        var skip = false;
        var variables = new List<KeyValuePair<string, string>>();
        foreach (var option in raw)
        {
            var dot = option.IndexOf('.');
            if (dot <= 0) continue;
            var rest = option[(dot + 1)..];
            var eq = rest.IndexOf('=');
            var (key, value) = eq < 0 ? (rest, "") : (rest[..eq], rest[(eq + 1)..]);
            if (option[..dot] != "ci") continue;
            if (key == "skip") skip = true;
            else if (key == "variable" && value.IndexOf('=') is > 0 and var at)
                variables.Add(new(value[..at], value[(at + 1)..]));
        }
        return new(skip, variables);
    }
}
