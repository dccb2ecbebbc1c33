using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Orchestrator.Api.Http;

/// <summary>A commit named by a caller: a full SHA-1 (40 hex digits), as GitLab's own <c>sha</c> parameters take it.</summary>
public static partial class CommitSha
{
    public static ProblemHttpResult? Check(string field, string? value) =>
        value is null || Full().IsMatch(value) ? null : Problems.BadRequest("Invalid commit", $"{field} must be a full commit SHA (40 hex digits)");

    [GeneratedRegex("\\A[0-9a-fA-F]{40}\\z")]
    private static partial Regex Full();
}
