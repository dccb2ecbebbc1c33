using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Adapters;
using Orchestrator.Domain;

namespace Orchestrator.Api.Operations;

/// <summary>A project as the page names it: its path and its page on GitLab.</summary>
public sealed record ProjectLink(string Path, string? WebUrl);

/// <summary>A merge request as the page names it: its title and its page on GitLab.</summary>
public sealed record MergeRequestLink(string Title, string? WebUrl);

/// <summary>
/// Project paths and MR titles for the operations page, read from GitLab in the read path and kept in memory.
/// Not in the events: a title is for people, decides nothing, and changes (a rename shows up here once the entry is
/// stale); the workflow's streams stay what its decisions were made from, and the driver is not slowed to fetch it.
/// The page polls every few seconds, so an entry is fresh for <see cref="Fresh"/> and a failed read is retried after
/// <see cref="RetryAfter"/>; a page waits at most <see cref="Budget"/> for reads under way, which finish in the
/// background and name the MRs at the next poll. Until then the page shows ids, as it always could.
/// </summary>
public sealed class GitLabLinks(IServiceProvider services, TimeProvider clock, ILogger<GitLabLinks> logger)
{
    public static readonly TimeSpan Fresh = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan RetryAfter = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(30);
    private const int MaxEntries = 5000;

    private readonly Cache<long, ProjectLink> projects = new();
    private readonly Cache<MergeRequestKey, MergeRequestLink> mergeRequests = new();
    // A first look at a busy page must not send a burst of reads at GitLab.
    private readonly SemaphoreSlim reads = new(4);

    /// <summary>What is known of these projects and merge requests now, after waiting at most <see cref="Budget"/> for reads.</summary>
    public async Task<(IReadOnlyDictionary<long, ProjectLink> Projects, IReadOnlyDictionary<MergeRequestKey, MergeRequestLink> MergeRequests)> ForAsync(
        IEnumerable<long> projectIds, IEnumerable<MergeRequestKey> keys, CancellationToken ct)
    {
        // With no GitLab configured (the embedded foundation mode) there is no one to ask: no doomed reads every poll.
        if (string.IsNullOrEmpty(services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Hosting.OrchestratorOptions>>().Value.GitLab.BaseUrl))
            return (new Dictionary<long, ProjectLink>(), new Dictionary<MergeRequestKey, MergeRequestLink>());
        var now = clock.GetUtcNow();
        var p = projectIds.Distinct().ToDictionary(id => id, id => projects.Get(id, now, () => ReadAsync($"project {id}",
            async gitlab => await gitlab.GetProjectAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } g
                ? new ProjectLink(g.PathWithNamespace, g.WebUrl) : null)));
        var m = keys.Distinct().ToDictionary(k => k, k => mergeRequests.Get(k, now, () => ReadAsync($"merge request {k}",
            async gitlab => await gitlab.GetMergeRequestAsync(k.ProjectId, k.Iid) is { } mr ? new MergeRequestLink(mr.Title, mr.WebUrl) : null)));
        var pending = p.Values.Select(e => (Task)e.Read).Concat(m.Values.Select(e => e.Read)).Where(t => !t.IsCompleted).ToList();
        if (pending.Count > 0)
        {
            try
            {
                await Task.WhenAll(pending).WaitAsync(Budget, ct);
            }
            catch (TimeoutException)
            {
            }
        }
        projects.Prune(now, MaxEntries);
        mergeRequests.Prune(now, MaxEntries);
        return (Known(p), Known(m));
    }

    private static Dictionary<TKey, TValue> Known<TKey, TValue>(Dictionary<TKey, Cache<TKey, TValue>.Entry> entries)
        where TKey : notnull where TValue : class =>
        entries.Where(e => e.Value.Value is not null).ToDictionary(e => e.Key, e => e.Value.Value!);

    /// <summary>One read, never thrown: a failure is logged and remembered as nothing, to be tried again later.</summary>
    private async Task<T?> ReadAsync<T>(string what, Func<IGitLabClient, Task<T?>> read) where T : class
    {
        await reads.WaitAsync();
        try
        {
            // Its own deadline, not the request's: a read outlives a page that stopped waiting for it.
            return await read(services.GetRequiredService<IGitLabClient>()).WaitAsync(FetchTimeout);
        }
        catch (Exception e)
        {
            logger.LogInformation(e, "The operations page could not name {What} from GitLab", what);
            return null;
        }
        finally
        {
            reads.Release();
        }
    }

    private sealed class Cache<TKey, TValue> where TKey : notnull where TValue : class
    {
        private readonly ConcurrentDictionary<TKey, Entry> entries = new();

        /// <param name="Previous">What the entry it replaced knew: shown while the new read is under way or if it fails.</param>
        public sealed record Entry(Task<TValue?> Read, DateTimeOffset StartedAt, TValue? Previous)
        {
            public TValue? Value => Read.IsCompletedSuccessfully && Read.Result is { } v ? v : Previous;

            public bool IsStale(DateTimeOffset now) =>
                Read.IsCompleted && now - StartedAt >= (Read.IsCompletedSuccessfully && Read.Result is not null ? Fresh : RetryAfter);
        }

        public Entry Get(TKey key, DateTimeOffset now, Func<Task<TValue?>> read) =>
            entries.AddOrUpdate(key, _ => new Entry(read(), now, null),
                (_, old) => old.IsStale(now) ? new Entry(read(), now, old.Value) : old);

        /// <summary>Past <paramref name="max"/> entries, forgets the stale ones (MRs that left the page).</summary>
        public void Prune(DateTimeOffset now, int max)
        {
            if (entries.Count <= max) return;
            foreach (var (key, entry) in entries)
                if (entry.IsStale(now)) entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
        }
    }
}
