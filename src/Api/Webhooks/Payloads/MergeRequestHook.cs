using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>
/// A Merge Request Hook. GitLab sends it from the target project (the MR belongs there), so <c>target_project_id</c>
/// must be the signer; a fork's <c>source_project_id</c> may differ and is never read.
/// </summary>
public sealed record MergeRequestHook(
    long Project,
    long TargetProjectId,
    long Iid,
    string? Action,
    long? AuthorId,
    HookUser User,
    IReadOnlyList<string> Assignees,
    IReadOnlyList<string> Labels,
    HookChange? AssigneeChange,
    HookChange? LabelChange,
    string? LastCommit = null) : WebhookEvent(Project)
{
    // GitLab usernames are unique regardless of case; label titles are compared as written.
    public static readonly StringComparer UsernameComparer = StringComparer.OrdinalIgnoreCase;
    public static readonly StringComparer LabelComparer = StringComparer.Ordinal;

    public override IEnumerable<ProjectReference> ProjectReferences =>
    [
        new("$.project.id", Project), new("$.object_attributes.target_project_id", TargetProjectId),
    ];

    public static MergeRequestHook? Read(PayloadReader reader, PayloadObject root)
    {
        var project = root.Object("project")?.PositiveId("id");
        var attributes = root.Object("object_attributes");
        var target = attributes?.PositiveId("target_project_id");
        var iid = attributes?.PositiveId("iid");
        var action = attributes?.OptionalString("action");
        var author = attributes?.OptionalPositiveId("author_id");
        var user = HookReading.User(root.Object("user"));
        var assignees = HookReading.Usernames(root.OptionalObjects("assignees"));
        var labels = HookReading.Titles(root.OptionalObjects("labels"));
        var changes = root.OptionalObject("changes");
        var assigneeChange = HookReading.Change(changes, "assignees", HookReading.Usernames, UsernameComparer);
        var labelChange = HookReading.Change(changes, "labels", HookReading.Titles, LabelComparer);
        // The head when the event happened: what the person who assigned or labelled saw.
        var lastCommit = attributes?.OptionalObject("last_commit")?.OptionalString("id");
        return reader.Error is null
            ? new MergeRequestHook(project!.Value, target!.Value, iid!.Value, action, author, user!, assignees, labels, assigneeChange, labelChange, lastCommit)
            : null;
    }
}
