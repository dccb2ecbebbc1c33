using Orchestrator.Domain;

namespace Orchestrator.Adapters;

/// <summary>The OCI registry calls the workflow needs: inspect an image's labels, copy one by digest, take one back.</summary>
public interface IImageRegistry
{
    /// <summary>The image's digest and its ci-templates labels, or null when the tag does not exist.</summary>
    Task<RegistryImage?> InspectAsync(string repository, string reference, CancellationToken ct = default);

    /// <summary>Copies <paramref name="digest"/> from one repository to <paramref name="toRepository"/>:<paramref name="tag"/>
    /// (blob mounts, then the same manifest bytes) and returns the digest the registry reports.</summary>
    Task<string> CopyAsync(string fromRepository, string digest, string toRepository, string tag, CancellationToken ct = default);

    /// <summary>The manifest digest a tag (or digest) resolves to, or null when absent; labels are not read.</summary>
    Task<string?> DigestAsync(string repository, string reference, CancellationToken ct = default);

    /// <summary>Every tag of the repository (an absent repository has none).</summary>
    Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken ct = default);

    /// <summary>Deletes a manifest by digest (every tag on it in that repository goes with it).</summary>
    Task DeleteAsync(string repository, string digest, CancellationToken ct = default);
}
