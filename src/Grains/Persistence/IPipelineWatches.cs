using Orchestrator.Domain;

namespace Orchestrator.Persistence;

/// <summary>Which merge request waits on which pipeline, so a pipeline or job hook finds its grain without asking GitLab.</summary>
public interface IPipelineWatches
{
    Task WatchAsync(long project, long pipeline, MergeRequestKey key, CancellationToken ct = default);

    Task<MergeRequestKey?> FindAsync(long project, long pipeline, CancellationToken ct = default);
}
