using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>A Job Hook: signed for its <c>project_id</c>; only pokes the workflow watching its pipeline.</summary>
public sealed record JobHook(long Project, long? ProjectObjectId, long PipelineId) : WebhookEvent(Project)
{
    public override IEnumerable<ProjectReference> ProjectReferences =>
        new ProjectReference?[]
        {
            new("$.project_id", Project), ProjectObjectId is { } p ? new("$.project.id", p) : null,
        }.OfType<ProjectReference>();

    public static JobHook? Read(PayloadReader reader, PayloadObject root)
    {
        var project = root.PositiveId("project_id");
        var projectObject = root.OptionalObject("project")?.PositiveId("id");
        var pipeline = root.PositiveId("pipeline_id");
        return reader.Error is null ? new JobHook(project!.Value, projectObject, pipeline!.Value) : null;
    }
}
