using Orchestrator.Api.Webhooks.Payloads;
using Orchestrator.Domain;

namespace Orchestrator.Api.Webhooks;

/// <summary>What a merge request hook asks of the bot.</summary>
public abstract record MergeRequestIntent
{
    /// <summary>Merge it, for this person (whose right to merge the grain checks with GitLab).</summary>
    public sealed record Merge(Requester Requester) : MergeRequestIntent;

    /// <summary>The bot was unassigned: stop.</summary>
    /// <summary>Someone took the trigger back: <paramref name="What"/> says how, for the note (e.g. "unassigned marge-bot").</summary>
    public sealed record Stop(string By, string What) : MergeRequestIntent;

    /// <summary>Nothing asked; the merge request may have changed, so its workflow should look.</summary>
    public sealed record Look : MergeRequestIntent;
}

/// <summary>
/// Who made a hook ask the bot to merge. Only the hook that shows the trigger happening names its actor: the user
/// of the hook whose <c>changes</c> add the bot (or the trigger label), or, on <c>open</c> with the bot or label
/// already set, the author (GitLab writes no "assigned" note at creation). Any other hook about an MR that happens
/// to carry the bot or label (an edit, a push, a reopen, an approval) names the person who did that, not the one
/// who triggered, so it triggers nothing.
/// </summary>
public static class WhoAsked
{
    public static MergeRequestIntent FromMergeRequest(MergeRequestHook hook, string bot, string? triggerLabel)
    {
        if (hook.AssigneeChange?.Removed(bot) == true) return new MergeRequestIntent.Stop(hook.User.Username, $"unassigned {bot}");
        // Taking the trigger label off says "do not merge" as plainly as unassigning the bot does.
        if (triggerLabel is not null && hook.LabelChange?.Removed(triggerLabel) == true)
            return new MergeRequestIntent.Stop(hook.User.Username, $"removed the label {triggerLabel}");
        if (hook.Action is "close" or "merge") return new MergeRequestIntent.Look();
        if (hook.AssigneeChange?.Added(bot) == true) return Merge(TriggerKind.Assignment, hook.User);
        if (triggerLabel is not null && hook.LabelChange?.Added(triggerLabel) == true) return Merge(TriggerKind.Label, hook.User);
        if (hook.Action == "open" && hook.AuthorId is { } author)
        {
            var username = hook.User.Id == author ? hook.User.Username : null;
            if (hook.Assignees.Contains(bot, MergeRequestHook.UsernameComparer))
                return new MergeRequestIntent.Merge(new Requester(TriggerKind.Assignment, username, author));
            if (triggerLabel is not null && hook.Labels.Contains(triggerLabel, MergeRequestHook.LabelComparer))
                return new MergeRequestIntent.Merge(new Requester(TriggerKind.Label, username, author));
        }
        return new MergeRequestIntent.Look();
    }

    /// <summary>
    /// The author of a <c>/merge</c> (or <c>@bot merge</c>) note on a merge request. A note whose hook user is not its
    /// author (an edit by someone else) names no one: which of the two asked is not knowable from the hook.
    /// </summary>
    public static Requester? FromNote(NoteHook hook, string bot)
    {
        if (hook.MergeRequest is null || !IsMergeCommand(hook.Note, bot)) return null;
        if (hook.AuthorId is { } author && author != hook.User.Id) return null;
        return Requester.Person(TriggerKind.Note, hook.User.Username, hook.User.Id);
    }

    /// <summary>The note starts with the command as a word of its own (<c>/mergeable</c> is not <c>/merge</c>).</summary>
    public static bool IsMergeCommand(string note, string bot)
    {
        var body = note.Trim();
        return StartsWithWord(body, "/merge", StringComparison.Ordinal) || StartsWithWord(body, $"@{bot} merge", StringComparison.OrdinalIgnoreCase);
    }

    private static bool StartsWithWord(string body, string word, StringComparison comparison) =>
        body.StartsWith(word, comparison) && (body.Length == word.Length || char.IsWhiteSpace(body[word.Length]));

    private static MergeRequestIntent.Merge Merge(TriggerKind trigger, HookUser user) => new(Requester.Person(trigger, user.Username, user.Id));
}
