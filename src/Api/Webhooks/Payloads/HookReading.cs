using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>The parts several hooks share, read the same way everywhere.</summary>
internal static class HookReading
{
    public static HookUser? User(PayloadObject? user) =>
        user?.PositiveId("id") is { } id && user.String("username") is { } username ? new HookUser(id, username) : null;

    /// <summary>The usernames of a list of users (missing or null: none).</summary>
    public static IReadOnlyList<string> Usernames(IReadOnlyList<PayloadObject>? users) =>
        [.. (users ?? []).Select(u => u.String("username")).OfType<string>()];

    /// <summary>The titles of a list of labels (missing or null: none).</summary>
    public static IReadOnlyList<string> Titles(IReadOnlyList<PayloadObject>? labels) =>
        [.. (labels ?? []).Select(l => l.String("title")).OfType<string>()];

    /// <summary>A <c>changes</c> entry with <c>previous</c> and <c>current</c> lists, read with <paramref name="names"/>.</summary>
    public static HookChange? Change(PayloadObject? changes, string field, Func<IReadOnlyList<PayloadObject>?, IReadOnlyList<string>> names,
        StringComparer comparer) =>
        changes?.OptionalObject(field) is { } change
            ? new HookChange(names(change.OptionalObjects("previous")), names(change.OptionalObjects("current")), comparer)
            : null;
}

/// <summary>What one list (assignees, labels) was before and after the change a hook reports.</summary>
public sealed record HookChange(IReadOnlyList<string> Previous, IReadOnlyList<string> Current, StringComparer Comparer)
{
    public bool Added(string name) => !Previous.Contains(name, Comparer) && Current.Contains(name, Comparer);

    public bool Removed(string name) => Previous.Contains(name, Comparer) && !Current.Contains(name, Comparer);
}
