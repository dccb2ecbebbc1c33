using Orchestrator.Api.Http;

namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>A Push Hook: pokes the merge request holding the pushed branch of this project, if one does.</summary>
public sealed record PushHook(long Project, long ProjectId, string Ref) : WebhookEvent(Project)
{
    public const string BranchPrefix = "refs/heads/";

    public override IEnumerable<ProjectReference> ProjectReferences => [new("$.project.id", Project), new("$.project_id", ProjectId)];

    /// <summary>The pushed branch; null for tags and other refs.</summary>
    public string? Branch => Ref.StartsWith(BranchPrefix, StringComparison.Ordinal) && Ref.Length > BranchPrefix.Length ? Ref[BranchPrefix.Length..] : null;

    public static PushHook? Read(PayloadReader reader, PayloadObject root)
    {
        var project = root.Object("project")?.PositiveId("id");
        var projectId = root.PositiveId("project_id");
        var reference = root.String("ref");
        return reader.Error is null ? new PushHook(project!.Value, projectId!.Value, reference!) : null;
    }
}
