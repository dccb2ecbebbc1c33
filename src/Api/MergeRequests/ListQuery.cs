using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Orchestrator.Api.Http;

namespace Orchestrator.Api.MergeRequests;

/// <summary>
/// The list's query string, read by hand rather than bound, so a wrong type is a 400 problem that names the parameter.
/// Out-of-range numbers are clamped as GitLab does; <c>page</c> is capped so the offset cannot overflow.
/// </summary>
public sealed record ListQuery(string? State, int Page, int PerPage)
{
    public static readonly string[] States =
        [.. Enum.GetValues<Domain.WorkflowState>().Where(s => s != Domain.WorkflowState.None).Select(Domain.WorkflowStateExtensions.ToWireName)];
    private const int MaxPage = 1_000_000;
    private const int MaxPerPage = 100;

    public static (ListQuery? Query, ProblemHttpResult? Problem) Parse(IQueryCollection query)
    {
        if (Single(query, "state", out var state) is { } p1) return (null, p1);
        if (state is not null && !States.Contains(state))
            return (null, Problems.BadRequest("Invalid state", $"state must be one of {string.Join(", ", States)}"));
        if (Number(query, "page", out var page) is { } p2) return (null, p2);
        if (Number(query, "per_page", out var perPage) is { } p3) return (null, p3);
        return (new ListQuery(state, Math.Clamp(page ?? 1, 1, MaxPage), Math.Clamp(perPage ?? 20, 1, MaxPerPage)), null);
    }

    private static ProblemHttpResult? Single(IQueryCollection query, string name, out string? value)
    {
        var values = query.TryGetValue(name, out var v) ? v : StringValues.Empty;
        value = values.Count == 1 ? values[0] : null;
        return values.Count > 1 ? Problems.BadRequest("Invalid query", $"{name} may be given once") : null;
    }

    private static ProblemHttpResult? Number(IQueryCollection query, string name, out int? value)
    {
        value = null;
        if (Single(query, name, out var text) is { } problem) return problem;
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            return Problems.BadRequest("Invalid query", $"{name} must be a whole number");
        value = n;
        return null;
    }
}
