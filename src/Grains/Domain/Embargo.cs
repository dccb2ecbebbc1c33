using System.Globalization;

namespace Orchestrator.Domain;

/// <summary>
/// A weekly window during which nothing merges (marge-bot's <c>--embargo</c>): from <paramref name="From"/> to
/// <paramref name="To"/>, each a day and a time (<c>Fri 18:00</c>, <c>Mon 08:00</c>), in the IANA time zone
/// <paramref name="TimeZone"/>. Pipelines may still run inside it.
/// </summary>
[GenerateSerializer, Alias("EmbargoWindow")]
public sealed record EmbargoWindow([property: Id(0)] string From, [property: Id(1)] string To, [property: Id(2)] string TimeZone);

/// <summary>The embargo rule, pure: whether a moment falls in a window, and when that window opens again.</summary>
public static class Embargoes
{
    /// <summary>When the window containing <paramref name="at"/> ends, or null when none does.</summary>
    public static DateTimeOffset? Until(IReadOnlyList<EmbargoWindow>? windows, DateTimeOffset at)
    {
        DateTimeOffset? until = null;
        foreach (var window in windows ?? [])
            if (window is not null && End(window, at) is { } end && (until is null || end > until)) until = end;
        return until;
    }

    /// <summary>Everything wrong with a window, for the policy's validation.</summary>
    public static IEnumerable<string> Problems(EmbargoWindow? window)
    {
        if (window is null)
        {
            yield return "embargo[] must be windows: {\"from\": \"Fri 18:00\", \"to\": \"Mon 08:00\", \"timeZone\": \"Europe/Berlin\"}";
            yield break;
        }
        if (Zone(window.TimeZone) is null) yield return $"embargo timeZone {window.TimeZone} is not a known IANA time zone";
        if (Parse(window.From) is null) yield return $"embargo from \"{window.From}\" must read like Fri 18:00";
        if (Parse(window.To) is null) yield return $"embargo to \"{window.To}\" must read like Mon 08:00";
    }

    private static DateTimeOffset? End(EmbargoWindow window, DateTimeOffset at)
    {
        if (Zone(window.TimeZone) is not { } zone || Parse(window.From) is not { } from || Parse(window.To) is not { } to) return null;
        var local = TimeZoneInfo.ConvertTime(at, zone).DateTime;
        // The window's latest start at or before now (within a week), and its first end after that start.
        var start = Occurrence(local, from, backwards: true);
        var end = Occurrence(start, to, backwards: false);
        return local < end ? new DateTimeOffset(end, zone.GetUtcOffset(end)) : null;
    }

    private static DateTime Occurrence(DateTime from, (DayOfWeek Day, TimeSpan Time) when, bool backwards)
    {
        for (var days = 0; days <= 7; days++)
        {
            var day = from.Date.AddDays(backwards ? -days : days);
            var candidate = day + when.Time;
            if (day.DayOfWeek == when.Day && (backwards ? candidate <= from : candidate > from)) return candidate;
        }
        return from;
    }

    private static (DayOfWeek, TimeSpan)? Parse(string? text)
    {
        if (text is null) return null;
        var parts = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2) return null;
        var day = Enum.GetValues<DayOfWeek>().Where(d => d.ToString().StartsWith(parts[0], StringComparison.OrdinalIgnoreCase) && parts[0].Length >= 3)
            .Cast<DayOfWeek?>().FirstOrDefault();
        return day is { } d && TimeSpan.TryParseExact(parts[1], @"hh\:mm", CultureInfo.InvariantCulture, out var time) ? (d, time) : null;
    }

    private static TimeZoneInfo? Zone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not found, invalid, or a folder of the zone database (a SecurityException): not a zone either way.
            return null;
        }
    }
}
