using System.Security.Cryptography;

namespace Sandbox.Model;

/// <summary>
/// What GitLab records beside an MR when its people or labels change: system notes for assignees and reviewers
/// (SystemNotes::IssuablesService, in its exact English wording), resource label events for labels (they are not notes).
/// </summary>
public static class MergeRequestActivity
{
    /// <summary>GitLab's change_issuable_assignees: "assigned to @a and @b and unassigned @c", none when nothing changed.</summary>
    public static void AssigneesChanged(SandboxStore store, MergeRequest mr, User actor, IReadOnlyList<long> before) =>
        PeopleChanged(store, mr, actor, before, mr.AssigneeIds, "assigned to", "unassigned");

    /// <summary>GitLab's change_issuable_reviewers: "requested review from @a and removed review request for @b".</summary>
    public static void ReviewersChanged(SandboxStore store, MergeRequest mr, User actor, IReadOnlyList<long> before) =>
        PeopleChanged(store, mr, actor, before, mr.ReviewerIds, "requested review from", "removed review request for");

    /// <summary>One ResourceLabelEvent per label added, then per label removed, as GitLab's ChangeLabelsService writes them.</summary>
    public static void LabelsChanged(SandboxStore store, MergeRequest mr, User actor, IReadOnlyList<string> before)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        foreach (var title in mr.Labels.Except(before))
            mr.LabelEvents.Add(new LabelEvent(store.NewId(), actor.Id, store.Now, store.LabelOf(target, title), "add"));
        foreach (var title in before.Except(mr.Labels))
            mr.LabelEvents.Add(new LabelEvent(store.NewId(), actor.Id, store.Now, store.LabelOf(target, title), "remove"));
    }

    private static void PeopleChanged(SandboxStore store, MergeRequest mr, User actor, IReadOnlyList<long> before, IReadOnlyList<long> after,
        string addedVerb, string removedVerb)
    {
        string References(IEnumerable<long> ids) => ToSentence([.. ids.Select(id => "@" + store.UserById(id).Username)]);
        var added = after.Except(before).ToList();
        var removed = before.Except(after).ToList();
        var parts = new List<string>();
        if (added.Count > 0) parts.Add($"{addedVerb} {References(added)}");
        if (removed.Count > 0) parts.Add($"{removedVerb} {References(removed)}");
        if (parts.Count > 0) AddSystemNote(store, mr, actor, string.Join(" and ", parts));
    }

    /// <summary>Rails' Array#to_sentence: "a", "a and b", "a, b, and c".</summary>
    public static string ToSentence(IReadOnlyList<string> words) => words.Count switch
    {
        0 => "",
        1 => words[0],
        2 => $"{words[0]} and {words[1]}",
        _ => $"{string.Join(", ", words.Take(words.Count - 1))}, and {words[^1]}",
    };

    private static void AddSystemNote(SandboxStore store, MergeRequest mr, User actor, string body)
    {
        var discussion = new Discussion { Id = Convert.ToHexString(RandomNumberGenerator.GetBytes(20)).ToLowerInvariant(), IndividualNote = true };
        discussion.Notes.Add(new Note
        {
            Id = store.NewId(), Body = body, AuthorId = actor.Id, CreatedAt = store.Now, UpdatedAt = store.Now, System = true,
        });
        mr.Discussions.Add(discussion);
    }
}
