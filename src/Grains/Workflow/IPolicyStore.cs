using Orchestrator.Domain;

namespace Orchestrator.Workflow;

/// <summary>Each project's policy: the one stored through the API, else the configured one, else the default.</summary>
public interface IPolicyStore
{
    Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default);

    /// <summary>
    /// The policy an attempt acts on: like <see cref="GetAsync"/>, but "nothing stored" is never taken from a cache, since
    /// acting on the default (no images to check) for a project whose policy another silo stored a moment ago would let
    /// its images through unchecked.
    /// </summary>
    Task<ProjectPolicy> CurrentAsync(long project, CancellationToken ct = default);

    /// <summary>Whether anyone stored or configured a policy for the project (the default applies otherwise).</summary>
    Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default);

    Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default);
}
