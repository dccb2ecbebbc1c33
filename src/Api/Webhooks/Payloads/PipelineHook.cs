using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>
/// A Pipeline Hook: only wakes the workflow that watches this pipeline of this project; the workflow reads the facts
/// from GitLab itself. A fork merge request's pipeline runs in the fork by default, and the fork's hook reports it with
/// the merge request's target (upstream) as <c>target_project_id</c>: GitLab does send that, so the merge request
/// may name the signer as its target or as its source, and nothing is ever done to the merge request it names.
/// </summary>
public sealed record PipelineHook(long Project, long PipelineId, string Status, long? MergeRequestTarget, long? MergeRequestSource)
    : WebhookEvent(Project)
{
    public override IEnumerable<ProjectReference> ProjectReferences =>
        new ProjectReference?[]
        {
            new("$.project.id", Project),
            MergeRequestTarget is { } target && MergeRequestSource != Project ? new("$.merge_request.target_project_id", target) : null,
        }.OfType<ProjectReference>();

    public static PipelineHook? Read(PayloadReader reader, PayloadObject root)
    {
        var project = root.Object("project")?.PositiveId("id");
        var attributes = root.Object("object_attributes");
        var pipeline = attributes?.PositiveId("id");
        var status = attributes?.String("status");
        var mr = root.OptionalObject("merge_request");
        var target = mr?.PositiveId("target_project_id");
        var source = mr?.PositiveId("source_project_id");
        return reader.Error is null ? new PipelineHook(project!.Value, pipeline!.Value, status!, target, source) : null;
    }
}
