using Marten;
using Microsoft.Extensions.Options;
using Orchestrator.Domain;
using Orchestrator.Hosting;

namespace Orchestrator.Workflow;

/// <summary>A project's policy as stored by <c>PUT …/policy</c>.</summary>
public sealed class ProjectPolicyDocument
{
    public long Id { get; set; }
    public ProjectPolicy Policy { get; set; } = ProjectPolicy.Default;
}

/// <summary>Policies: what the API stored wins over configuration (<c>Orchestrator:Policies:&lt;projectId&gt;</c>), which wins over the default.</summary>
public sealed class PolicyStore(IDocumentStore store, IOptions<OrchestratorOptions> options)
{
    public async Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default)
    {
        await using var session = store.QuerySession();
        var stored = await session.LoadAsync<ProjectPolicyDocument>(project, ct);
        if (stored is not null) return stored.Policy;
        return options.Value.Policies.TryGetValue(project.ToString(), out var configured) ? configured.ToPolicy() : ProjectPolicy.Default;
    }

    /// <summary>Whether anyone stored or configured a policy for the project (the default applies otherwise).</summary>
    public async Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default)
    {
        if (options.Value.Policies.ContainsKey(project.ToString())) return true;
        await using var session = store.QuerySession();
        return await session.LoadAsync<ProjectPolicyDocument>(project, ct) is not null;
    }

    public async Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        session.Store(new ProjectPolicyDocument { Id = project, Policy = policy });
        await session.SaveChangesAsync(ct);
    }
}
