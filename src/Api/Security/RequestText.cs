using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api.Http;
using Orchestrator.Domain;

namespace Orchestrator.Api.Security;

/// <summary>
/// Text a caller sends (<c>requestedBy</c>, <c>reason</c>, a policy's names and globs): it ends up in GitLab notes, on the
/// operations page and in PostgreSQL's jsonb (which refuses NUL and lone surrogates), so it is one line of printable text.
/// <c>requestedBy</c> and <c>reason</c> are also of bounded length. <c>requestedBy</c> is a label, never an
/// identity, so it may not contain <c>@</c>: it can neither pose as nor mention a GitLab user.
/// </summary>
public static class RequestText
{
    public const int MaxLength = Requester.MaxLabelLength;

    public static ProblemHttpResult? Label(string field, string? value) =>
        Text(field, value) ?? (value?.Contains('@') == true
            ? Problems.BadRequest("Invalid text", $"{field} is a label, not a GitLab user: it may not contain '@'")
            : null);

    public static ProblemHttpResult? Text(string field, string? value)
    {
        if (value is null) return null;
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxLength)
            return Problems.BadRequest("Invalid text", $"{field} must be 1 to {MaxLength} characters, not blank");
        return Printable(value) ? null : Problems.BadRequest("Invalid text", $"{field} must be printable text on one line");
    }

    public static bool Printable(string value)
    {
        for (var i = 0; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var used) != OperationStatus.Done) return false;
            // Control characters break lines; format characters (bidi overrides, zero-width) make text read as other text.
            if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator) return false;
            i += used;
        }
        return true;
    }
}
