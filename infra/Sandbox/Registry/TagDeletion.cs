using System.Text;
using System.Text.Json.Nodes;

namespace Sandbox.Registry;

/// <summary>
/// How GitLab deletes one tag from a registry that can only delete manifests by digest (its
/// ContainerRepository::ThirdParty::DeleteTagsService): re-point the tag at a fresh empty image, then delete that
/// image's digest. Other tags that shared the old digest keep it; deleting by the old digest would take them too.
/// </summary>
public static class TagDeletion
{
    public static async Task DeleteAsync(RegistryClient registry, string repository, string tag)
    {
        // A config unique to this deletion, so its digest is no other tag's.
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64", ["os"] = "linux", ["config"] = new JsonObject(),
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() },
            ["created"] = DateTimeOffset.UtcNow.ToString("O"), ["comment"] = $"tag {tag} deleted, {Guid.NewGuid():N}",
        }.ToJsonString());
        var configDigest = RegistryClient.Digest(config);
        await registry.UploadBlobAsync(repository, config, configDigest);
        var dummy = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryClient.DockerManifest,
            ["config"] = new JsonObject { ["mediaType"] = RegistryClient.DockerConfig, ["size"] = config.Length, ["digest"] = configDigest },
            ["layers"] = new JsonArray(),
        }.ToJsonString());
        var digest = await registry.PutManifestAsync(repository, tag, dummy, RegistryClient.DockerManifest);
        await registry.DeleteManifestAsync(repository, digest);
    }
}
