namespace Orchestrator.Api.Webhooks.Payloads;

/// <summary>An id in a payload that names the project the delivery is about, and where it was read.</summary>
public readonly record struct ProjectReference(string Path, long Id);

/// <summary>
/// A webhook delivery of a kind the orchestrator follows, read and typed. <see cref="Project"/> is the project whose
/// secret signs it; every id in <see cref="ProjectReferences"/> must name that same project, so one project's secret
/// can never make the orchestrator act on another.
/// </summary>
public abstract record WebhookEvent(long Project)
{
    public abstract IEnumerable<ProjectReference> ProjectReferences { get; }

    /// <summary>The first id that names another project than the signer's, if any.</summary>
    public ProjectReference? ForeignReference => ProjectReferences.Where(r => r.Id != Project).Select(r => (ProjectReference?)r).FirstOrDefault();
}

/// <summary>A GitLab user as hooks name them.</summary>
public sealed record HookUser(long Id, string Username);
