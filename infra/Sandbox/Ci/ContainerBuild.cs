using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Registry;

namespace Sandbox.Ci;

/// <summary>
/// freedesktop ci-templates' container job, step for step: the image is
/// <c>$CI_REGISTRY_IMAGE/$FDO_REPO_SUFFIX:$FDO_DISTRIBUTION_TAG</c>; (1) it exists in the project's registry → reuse;
/// (2) it exists at <c>$CI_REGISTRY/$FDO_UPSTREAM_REPO/$FDO_REPO_SUFFIX:$FDO_DISTRIBUTION_TAG</c> → copy; (3) build.
/// <c>FDO_FORCE_REBUILD</c> skips (1) and (2). Building runs <c>FDO_DISTRIBUTION_EXEC</c> in the checkout with
/// <c>$IMAGE_ROOT</c> as the image's root; what it leaves there becomes the image's layer, and the config carries
/// the labels <c>fdo.pipeline_id</c>, <c>fdo.job_id</c>, <c>fdo.commit</c>.
/// </summary>
public sealed class ContainerBuild(Job job, Dictionary<string, string> env, RegistryClient registry, CiOptions options,
    string work, string registryHost)
{
    public async Task<bool> RunAsync(CancellationToken ct)
    {
        if (!env.TryGetValue("FDO_DISTRIBUTION_TAG", out var tag) || tag.Length == 0)
        {
            job.Log("ERROR: $FDO_DISTRIBUTION_TAG is not set");
            return false;
        }
        var suffix = env.GetValueOrDefault("FDO_REPO_SUFFIX") is { Length: > 0 } s ? s
            : $"debian/{env.GetValueOrDefault("FDO_DISTRIBUTION_VERSION", "bookworm")}";
        var projectImage = $"{env["CI_PROJECT_PATH"].ToLowerInvariant()}/{suffix}";
        job.Log($"Image: {registryHost}/{projectImage}:{tag}");
        var force = env.GetValueOrDefault("FDO_FORCE_REBUILD") is { Length: > 0 };
        if (!force)
        {
            if (await registry.GetManifestAsync(projectImage, tag) is { } existing)
            {
                job.Log($"Skipping, image {projectImage}:{tag} exists already ({existing.Digest})");
                return true;
            }
            if (env.GetValueOrDefault("FDO_UPSTREAM_REPO") is { Length: > 0 } upstream)
            {
                var upstreamImage = $"{upstream.ToLowerInvariant()}/{suffix}";
                if (await registry.GetManifestAsync(upstreamImage, tag) is { } found)
                {
                    await CopyAsync(upstreamImage, projectImage, tag, found);
                    job.Log($"Copied {upstreamImage}:{tag} to {projectImage}:{tag} ({found.Digest}), not rebuilding");
                    return true;
                }
            }
        }
        else job.Log("FDO_FORCE_REBUILD is set: building");

        return await BuildAsync(projectImage, tag, ct);
    }

    private async Task CopyAsync(string from, string to, string tag, Manifest manifest)
    {
        var json = manifest.Json;
        await registry.MountOrCopyBlobAsync(to, from, json["config"]!["digest"]!.GetValue<string>());
        foreach (var layer in json["layers"]!.AsArray())
            await registry.MountOrCopyBlobAsync(to, from, layer!["digest"]!.GetValue<string>());
        // The same manifest bytes, so the copy has the same digest (skopeo copy does likewise).
        await registry.PutManifestAsync(to, tag, manifest.Bytes, manifest.MediaType);
    }

    private async Task<bool> BuildAsync(string image, string tag, CancellationToken ct)
    {
        var root = Directory.CreateDirectory(Path.Combine(work, "rootfs")).FullName;
        if (env.GetValueOrDefault("FDO_BASE_IMAGE") is { Length: > 0 } baseImage)
        {
            var pulled = await JobExecutor.PullAsync(registry, baseImage, root);
            if (pulled.Image is null)
            {
                job.Log($"Error: {pulled.Error}");
                return false;
            }
            job.Log($"Pulled base image {baseImage} ({pulled.Image.RepoDigest})");
        }
        var buildEnv = new Dictionary<string, string>(env) { ["IMAGE_ROOT"] = root };
        if (env.GetValueOrDefault("FDO_DISTRIBUTION_EXEC") is { Length: > 0 } exec)
        {
            job.Log($"Building with: {exec}");
            if (!await JobExecutor.RunScriptAsync(job, [exec], buildEnv, env["CI_PROJECT_DIR"], ct))
            {
                job.Log("ERROR: the image build failed");
                return false;
            }
        }
        if (options.BuildDelay > TimeSpan.Zero) await Task.Delay(options.BuildDelay, ct);

        var tar = Path.Combine(work, "layer.tar");
        // Reproducible layer: sorted names, fixed owner and time.
        await Shell.RunAsync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", root, "-cf", tar, "."]);
        var tarBytes = await File.ReadAllBytesAsync(tar, ct);
        var layer = Gzip(tarBytes);
        var layerDigest = RegistryClient.Digest(layer);
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                ["Labels"] = new JsonObject
                {
                    ["fdo.pipeline_id"] = env["CI_PIPELINE_ID"],
                    ["fdo.job_id"] = env["CI_JOB_ID"],
                    ["fdo.commit"] = env["CI_COMMIT_SHA"],
                },
            },
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray("sha256:" + Convert.ToHexString(SHA256.HashData(tarBytes)).ToLowerInvariant()),
            },
            ["history"] = new JsonArray(new JsonObject { ["created_by"] = $"ci-templates container job {env["CI_JOB_ID"]}" }),
        }.ToJsonString());
        var configDigest = RegistryClient.Digest(config);
        await registry.UploadBlobAsync(image, layer, layerDigest);
        await registry.UploadBlobAsync(image, config, configDigest);
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryClient.DockerManifest,
            ["config"] = new JsonObject { ["mediaType"] = RegistryClient.DockerConfig, ["size"] = config.Length, ["digest"] = configDigest },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = RegistryClient.DockerLayer, ["size"] = layer.Length, ["digest"] = layerDigest }),
        }.ToJsonString());
        var digest = await registry.PutManifestAsync(image, tag, manifest, RegistryClient.DockerManifest);
        job.Log($"Pushed {image}:{tag} ({digest})");
        return true;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(data);
        return output.ToArray();
    }
}
