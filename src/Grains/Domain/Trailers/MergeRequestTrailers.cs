namespace Orchestrator.Domain.Trailers;

/// <summary>The policy's <c>trailers</c> values, as marge-bot's <c>--add-part-of</c>, <c>--add-reviewers</c>, <c>--add-tested</c>.</summary>
public static class TrailerKinds
{
    public const string PartOf = "part-of";
    public const string ReviewedBy = "reviewed-by";
    public const string TestedBy = "tested-by";
    public static readonly IReadOnlyList<string> All = [PartOf, ReviewedBy, TestedBy];
}

/// <summary>An approver at the moment of the rewrite; <paramref name="PublicEmail"/> is what GitLab shows (often none).</summary>
public sealed record Approver(long Id, string Username, string Name, string? PublicEmail);

/// <summary>
/// The trailers a merge request's commits get, in marge-bot's formats and order (reviewers, tester, then the MR):
/// <c>Reviewed-by: Name &lt;email&gt;</c>, <c>Tested-by: Bot &lt;MR URL&gt;</c>, <c>Part-of: &lt;MR URL&gt;</c>.
/// </summary>
public static class MergeRequestTrailers
{
    /// <summary>GitLab's own private commit e-mail form, used when an approver shows no public e-mail.</summary>
    public const string DefaultFallbackEmail = "{id}-{username}@users.noreply.{host}";

    /// <param name="mergeRequestWebUrl">The MR's <c>web_url</c>, written as GitLab gives it.</param>
    /// <param name="approvers">Who approved at this moment, in GitLab's order.</param>
    /// <param name="botName">The bot user's display name, for <c>Tested-by</c>.</param>
    /// <param name="kinds">The policy's <c>trailers</c> (any of <see cref="TrailerKinds.All"/>); unknown values are refused.</param>
    /// <param name="fallbackEmail">
    /// A template for approvers without a public e-mail: <c>{id}</c>, <c>{username}</c> and <c>{host}</c> (the MR's
    /// GitLab host) are replaced.
    /// </param>
    public static IReadOnlyList<Trailer> For(IEnumerable<string> kinds, string mergeRequestWebUrl, IEnumerable<Approver> approvers,
        string botName, string fallbackEmail = DefaultFallbackEmail)
    {
        var wanted = kinds.Select(k => k.Trim().ToLowerInvariant()).ToHashSet();
        if (wanted.FirstOrDefault(k => !TrailerKinds.All.Contains(k)) is { } unknown)
            throw new ArgumentException($"unknown trailer '{unknown}' (known: {string.Join(", ", TrailerKinds.All)})", nameof(kinds));
        var url = mergeRequestWebUrl.Trim();
        var host = new Uri(url, UriKind.Absolute).Host;
        var trailers = new List<Trailer>();
        if (wanted.Contains(TrailerKinds.ReviewedBy))
            trailers.AddRange(approvers.Select(a => new Trailer("Reviewed-by", $"{OneLine(a.Name)} <{Email(a, fallbackEmail, host)}>")));
        if (wanted.Contains(TrailerKinds.TestedBy)) trailers.Add(new Trailer("Tested-by", $"{OneLine(botName)} <{url}>"));
        if (wanted.Contains(TrailerKinds.PartOf)) trailers.Add(new Trailer("Part-of", $"<{url}>"));
        return trailers;
    }

    private static string Email(Approver a, string fallback, string host) =>
        !string.IsNullOrWhiteSpace(a.PublicEmail)
            ? OneLine(a.PublicEmail)
            : fallback.Replace("{id}", a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Replace("{username}", a.Username).Replace("{host}", host);

    /// <summary>A name is the user's to choose: a newline or angle bracket in it must not forge another trailer or address.</summary>
    private static string OneLine(string s) =>
        string.Join(' ', s.Split([' ', '\t', '\r', '\n', '<', '>'], StringSplitOptions.RemoveEmptyEntries));
}
