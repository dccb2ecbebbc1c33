using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>A Note Hook; <see cref="MergeRequest"/> is set for notes on merge requests only.</summary>
public sealed record NoteHook(
    long Project,
    long? ProjectId,
    long? NoteProjectId,
    string NoteableType,
    string Note,
    long? AuthorId,
    HookUser User,
    NotedMergeRequest? MergeRequest) : WebhookEvent(Project)
{
    public const string OnMergeRequest = "MergeRequest";

    public override IEnumerable<ProjectReference> ProjectReferences =>
        new ProjectReference?[]
        {
            new("$.project.id", Project),
            ProjectId is { } p ? new("$.project_id", p) : null,
            NoteProjectId is { } n ? new("$.object_attributes.project_id", n) : null,
            MergeRequest is { } mr ? new("$.merge_request.target_project_id", mr.TargetProjectId) : null,
        }.OfType<ProjectReference>();

    public static NoteHook? Read(PayloadReader reader, PayloadObject root)
    {
        var project = root.Object("project")?.PositiveId("id");
        var projectId = root.OptionalPositiveId("project_id");
        var attributes = root.Object("object_attributes");
        var noteProject = attributes?.OptionalPositiveId("project_id");
        var noteableType = attributes?.String("noteable_type");
        var note = attributes?.String("note");
        var author = attributes?.OptionalPositiveId("author_id");
        var user = HookReading.User(root.Object("user"));
        var mr = noteableType == OnMergeRequest ? root.Object("merge_request") : null;
        var merge = mr is null ? null : (mr.PositiveId("iid"), mr.PositiveId("target_project_id")) is ({ } iid, { } target)
            ? new NotedMergeRequest(iid, target, mr.OptionalObject("last_commit")?.OptionalString("id")) : null;
        return reader.Error is null
            ? new NoteHook(project!.Value, projectId, noteProject, noteableType!, note!, author, user!, merge)
            : null;
    }
}

/// <remarks><paramref name="LastCommit"/>: the merge request's head when the note was written, the one its author commanded.</remarks>
public sealed record NotedMergeRequest(long Iid, long TargetProjectId, string? LastCommit = null);
