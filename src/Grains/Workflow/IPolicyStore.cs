using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>Each project's policy: the one stored through the API, else the configured one, else the default.</summary>
public interface IPolicyStore
{
    Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default);

    /// <summary>Whether anyone stored or configured a policy for the project (the default applies otherwise).</summary>
    Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default);

    Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default);
}
