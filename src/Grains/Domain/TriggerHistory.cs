using System.Text.RegularExpressions;

namespace Orchestrator.Domain;

/// <summary>A merge request note as the trigger history reads it; only GitLab's own (system) notes count.</summary>
public sealed record HistoryNote(string Body, string AuthorUsername, long AuthorId, bool System, DateTimeOffset? At = null);

/// <summary>One <c>resource_label_events</c> entry: who added or removed which label.</summary>
public sealed record LabelEvent(string? Label, string Action, string? Username, long? UserId, DateTimeOffset? At = null);

/// <summary>
/// Who put a merge request in the bot's hands when no webhook said so (reconciliation), read from GitLab's own records:
/// the system notes GitLab writes for assignee changes (<c>assigned to @a and @bot and unassigned @c</c>, written by the
/// acting user) and the label events. Pure; the caller fetches every page.
/// </summary>
public static partial class TriggerHistory
{
    private const string Assigned = "assigned to ", Unassigned = "unassigned ", AndUnassigned = " and unassigned ";

    /// <summary>
    /// The author of the latest system note that assigned <paramref name="bot"/> after the last one that unassigned it;
    /// the merge request's author when no note ever names the bot (GitLab writes none for assignments at creation);
    /// nobody (null) when the latest note naming the bot unassigned it, or when a note is too vague to tell (fail closed).
    /// </summary>
    public static Requester? Assigner(IEnumerable<HistoryNote> notesOldestFirst, string bot, string authorUsername, long authorId)
    {
        Requester? assigner = null;
        var named = false;
        foreach (var note in notesOldestFirst.Where(n => n.System))
        {
            var (added, removed, vague) = Parse(note.Body);
            if (vague)
            {
                // The single-assignee wording ("removed assignee") names no one: whoever assigned before is no longer known.
                named = true;
                assigner = null;
                continue;
            }
            if (removed.Contains(bot, StringComparer.OrdinalIgnoreCase)) { named = true; assigner = null; }
            if (added.Contains(bot, StringComparer.OrdinalIgnoreCase))
            {
                named = true;
                assigner = Requester.Person(TriggerKind.ReconciledAssignment, note.AuthorUsername, note.AuthorId);
            }
        }
        return named ? assigner : Requester.Person(TriggerKind.ReconciledAssignment, authorUsername, authorId);
    }

    /// <summary>The user of the latest <c>add</c> of <paramref name="label"/>; null when none is recorded (fail closed).</summary>
    public static Requester? Labeller(IEnumerable<LabelEvent> eventsOldestFirst, string label) =>
        eventsOldestFirst.LastOrDefault(e => e.Action == "add" && e.Label == label) is { Username: { } user, UserId: { } id }
            ? Requester.Person(TriggerKind.ReconciledLabel, user, id)
            : null;

    /// <summary>When the bot was last assigned, by the latest system note adding it (null: no note says, e.g. at creation).</summary>
    public static DateTimeOffset? AssignedAt(IEnumerable<HistoryNote> notesOldestFirst, string bot) =>
        notesOldestFirst.Where(n => n.System).LastOrDefault(n => Parse(n.Body).Added.Contains(bot, StringComparer.OrdinalIgnoreCase))?.At;

    /// <summary>When <paramref name="label"/> was last added (null: no event says).</summary>
    public static DateTimeOffset? LabelledAt(IEnumerable<LabelEvent> eventsOldestFirst, string label) =>
        eventsOldestFirst.LastOrDefault(e => e.Action == "add" && e.Label == label)?.At;

    /// <summary>
    /// Whether reconciliation asks again for a merge request whose last attempt has ended: only when its trigger was set
    /// after that attempt's last event (someone assigned the bot or added the label again, and the webhook was lost). A
    /// failed merge request keeps its label, and retrying it for ever is not what its author asked for.
    /// </summary>
    public static bool AskedAgain(DateTimeOffset? triggeredAt, MergeRequestWorkflow ended) =>
        !ended.IsActive && triggeredAt is { } at && ended.UpdatedAt is { } last && at > last;

    /// <summary>The usernames a GitLab assignee note adds and removes.</summary>
    public static (IReadOnlyList<string> Added, IReadOnlyList<string> Removed, bool Vague) Parse(string body)
    {
        body = body.Trim();
        if (body is "removed assignee" or "removed all assignees") return ([], [], true);
        if (body.StartsWith(Unassigned, StringComparison.Ordinal)) return ([], Names(body[Unassigned.Length..]), false);
        if (!body.StartsWith(Assigned, StringComparison.Ordinal)) return ([], [], false);
        var rest = body[Assigned.Length..];
        var split = rest.IndexOf(AndUnassigned, StringComparison.Ordinal);
        return split < 0
            ? (Names(rest), [], false)
            : (Names(rest[..split]), Names(rest[(split + AndUnassigned.Length)..]), false);
    }

    private static IReadOnlyList<string> Names(string sentence) => [.. Reference().Matches(sentence).Select(m => m.Groups[1].Value)];

    // GitLab usernames: letters, digits, '_', '-', '.'; a reference ends where they do (a trailing '.' ends a sentence).
    [GeneratedRegex(@"@([A-Za-z0-9_][A-Za-z0-9_.\-]*[A-Za-z0-9_\-]|[A-Za-z0-9_])")]
    private static partial Regex Reference();
}
