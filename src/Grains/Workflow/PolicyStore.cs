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

    public async Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default) =>
        await StoredAsync(project, ct) ?? Configured(project);

    public async Task<ProjectPolicy> CurrentAsync(long project, CancellationToken ct = default) =>
        await StoredAsync(project, ct, noneFromCache: false) ?? Configured(project);

    /// <summary>Whether anyone stored or configured a policy for the project (the default applies otherwise).</summary>
    /// <remarks>
    /// "None" refuses a project whose images nothing would check, so it is never taken from the cache: a policy another
    /// silo stored a moment ago must not be refused for.
    /// </remarks>
    public async Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default) =>
        options.Value.Policies.ContainsKey(project.ToString()) || await StoredAsync(project, ct, noneFromCache: false) is not null;

    public async Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        session.Store(new ProjectPolicyDocument { Id = project, Policy = policy });
        await session.SaveChangesAsync(ct);
        cache[project] = (policy, clock.GetUtcNow());
    }

    private ProjectPolicy Configured(long project) =>
        options.Value.Policies.TryGetValue(project.ToString(), out var configured) ? configured.ToPolicy() : ProjectPolicy.Default;

    // noneFromCache false: a cached "nothing stored" is read again (one read, never two).
    private async Task<ProjectPolicy?> StoredAsync(long project, CancellationToken ct, bool noneFromCache = true)
    {
        var now = clock.GetUtcNow();
        if (cache.TryGetValue(project, out var known) && now - known.ReadAt < Freshness && (known.Stored is not null || noneFromCache))
            return known.Stored;
        await using var session = store.QuerySession();
        var stored = (await session.LoadAsync<ProjectPolicyDocument>(project, ct))?.Policy;
        cache[project] = (stored, now);
        return stored;
    }
}
