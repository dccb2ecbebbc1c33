using System.Collections.Concurrent;
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

/// <summary>
/// Policies: what the API stored wins over configuration (<c>Orchestrator:Policies:&lt;projectId&gt;</c>), which wins over the default.
/// Read on every merge request hook, so kept in memory: a save through this process replaces its entry at once; a
/// save through another silo is seen here within <see cref="Freshness"/>.
/// </summary>
public sealed class PolicyStore(IDocumentStore store, IOptions<OrchestratorOptions> options, TimeProvider clock) : IPolicyStore
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<long, (ProjectPolicy? Stored, DateTimeOffset ReadAt)> cache = new();

    public async Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default)
    {
        var stored = await StoredAsync(project, ct);
        if (stored is not null) return stored;
        return options.Value.Policies.TryGetValue(project.ToString(), out var configured) ? configured.ToPolicy() : ProjectPolicy.Default;
    }

    public async Task<ProjectPolicy> CurrentAsync(long project, CancellationToken ct = default)
    {
        var stored = await StoredAsync(project, ct) ?? await StoredAsync(project, ct, fresh: true);
        if (stored is not null) return stored;
        return options.Value.Policies.TryGetValue(project.ToString(), out var configured) ? configured.ToPolicy() : ProjectPolicy.Default;
    }

    /// <summary>Whether anyone stored or configured a policy for the project (the default applies otherwise).</summary>
    /// <remarks>
    /// "None" refuses a project whose images nothing would check, so it is never taken from the cache: a policy another
    /// silo stored a moment ago must not be refused for.
    /// </remarks>
    public async Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default) =>
        options.Value.Policies.ContainsKey(project.ToString()) || await StoredAsync(project, ct) is not null
        || await StoredAsync(project, ct, fresh: true) is not null;

    public async Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        session.Store(new ProjectPolicyDocument { Id = project, Policy = policy });
        await session.SaveChangesAsync(ct);
        cache[project] = (policy, clock.GetUtcNow());
    }

    private async Task<ProjectPolicy?> StoredAsync(long project, CancellationToken ct, bool fresh = false)
    {
        var now = clock.GetUtcNow();
        if (!fresh && cache.TryGetValue(project, out var known) && now - known.ReadAt < Freshness) return known.Stored;
        await using var session = store.QuerySession();
        var stored = (await session.LoadAsync<ProjectPolicyDocument>(project, ct))?.Policy;
        cache[project] = (stored, now);
        return stored;
    }
}
