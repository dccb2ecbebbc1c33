using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>ci-templates' container job on the real registry: reuse, copy from upstream, build, force; real images in later jobs.</summary>
public sealed class ContainerJobTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private static string Ci(string upstream) => $$"""
        stages: [container, test]
        include:
          - local: .gitlab-ci/image-tags.yml
        build-image:
          extends: .fdo.container-build@debian
          stage: container
          variables:
            FDO_REPO_SUFFIX: debian/x86_64_build
            FDO_DISTRIBUTION_TAG: $BUILD_TAG
            FDO_UPSTREAM_REPO: {{upstream}}
            FDO_DISTRIBUTION_EXEC: bash .gitlab-ci/container/build.sh
        use-image:
          stage: test
          image: $CI_REGISTRY_IMAGE/debian/x86_64_build:$BUILD_TAG
          script:
            - tool
        """;

    private const string Build = """
        set -e
        mkdir -p "$IMAGE_ROOT/bin"
        version=$(cat .gitlab-ci/container/version)
        printf '#!/bin/bash\necho "tool %s"\n' "$version" > "$IMAGE_ROOT/bin/tool"
        chmod +x "$IMAGE_ROOT/bin/tool"
        """;

    [Fact]
    public async Task Given_the_container_job_When_pipelines_run_Then_it_builds_then_reuses_then_rebuilds_when_forced_and_jobs_run_inside_the_image()
    {
        var w = await World.CreateAsync(host, "fdo1");
        var id = w.Upstream.Long("id");
        var path = w.Upstream.Str("path_with_namespace").ToLowerInvariant();
        var first = await w.Maintainer.Post($"projects/{id}/repository/commits", Files.Commit("main", "CI", new Dictionary<string, string>
        {
            [".gitlab-ci.yml"] = Ci(path),
            [".gitlab-ci/image-tags.yml"] = "variables:\n  BUILD_TAG: \"2026-01-01-a\"\n",
            [".gitlab-ci/container/build.sh"] = Build,
            [".gitlab-ci/container/version"] = "1.0\n",
        }));
        var p1 = await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", first.Str("id"))).Long("id"));
        var jobs1 = (await w.Maintainer.Get($"projects/{id}/pipelines/{p1.Long("id")}/jobs")).AsArray();
        Assert.Equal("success", p1.Str("status"));
        Assert.Contains("Pushed", await w.Maintainer.Trace(id, jobs1[0]!.Long("id")));
        Assert.Contains("tool 1.0", await w.Maintainer.Trace(id, jobs1[1]!.Long("id")));

        var registry = await RegistryAs.RegistryUrl(w.Maintainer, id);
        var token = await PersonalToken(w);
        var reader = RegistryAs.User(host, registry, w.MaintainerName, token);
        var labels = await RegistryAs.Labels(reader, $"{path}/debian/x86_64_build", "2026-01-01-a");
        Assert.Equal(first.Str("id"), labels.Str("fdo.commit"));
        Assert.Equal(p1.Long("id").ToString(), labels.Str("fdo.pipeline_id"));
        Assert.Equal(jobs1[0]!.Long("id").ToString(), labels.Str("fdo.job_id"));

        // The tag exists: the next pipeline reuses the image, even though the build input changed.
        var second = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "v2", ".gitlab-ci/container/version", "2.0\n", "update"));
        var p2 = await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", second.Str("id"))).Long("id"));
        var jobs2 = (await w.Maintainer.Get($"projects/{id}/pipelines/{p2.Long("id")}/jobs")).AsArray();
        Assert.Contains("exists already", await w.Maintainer.Trace(id, jobs2[0]!.Long("id")));
        Assert.Contains("tool 1.0", await w.Maintainer.Trace(id, jobs2[1]!.Long("id")));
        Assert.Equal(first.Str("id"), (await RegistryAs.Labels(reader, $"{path}/debian/x86_64_build", "2026-01-01-a")).Str("fdo.commit"));

        // FDO_FORCE_REBUILD builds from this tree and relabels.
        var forced = await w.Maintainer.Post($"projects/{id}/pipeline", new { @ref = "main", variables = new[] { new { key = "FDO_FORCE_REBUILD", value = "1" } } });
        var p3 = await w.Maintainer.WaitForPipeline(id, forced.Long("id"));
        var jobs3 = (await w.Maintainer.Get($"projects/{id}/pipelines/{p3.Long("id")}/jobs")).AsArray();
        Assert.Contains("FDO_FORCE_REBUILD is set", await w.Maintainer.Trace(id, jobs3[0]!.Long("id")));
        Assert.Contains("tool 2.0", await w.Maintainer.Trace(id, jobs3[1]!.Long("id")));
        var rebuilt = await RegistryAs.Labels(reader, $"{path}/debian/x86_64_build", "2026-01-01-a");
        Assert.Equal((second.Str("id"), forced.Long("id").ToString()), (rebuilt.Str("fdo.commit"), rebuilt.Str("fdo.pipeline_id")));

        var tags = await w.Maintainer.Get($"projects/{id}/registry/repositories?tags=true");
        var repo = Assert.Single(tags.AsArray())!;
        Assert.Equal("debian/x86_64_build", repo.Str("name"));
        Assert.Equal("2026-01-01-a", repo["tags"]![0]!.Str("name"));
        var detail = await w.Maintainer.Get($"projects/{id}/registry/repositories/{repo.Long("id")}/tags/2026-01-01-a");
        Assert.Equal((await reader.GetManifestAsync($"{path}/debian/x86_64_build", "2026-01-01-a"))!.Digest, detail.Str("digest"));
    }

    [Fact]
    public async Task Given_a_fork_without_the_image_When_upstream_has_it_Then_the_job_copies_it_with_the_same_digest()
    {
        var w = await World.CreateAsync(host, "fdo2");
        var id = w.Upstream.Long("id");
        var path = w.Upstream.Str("path_with_namespace").ToLowerInvariant();
        var files = new Dictionary<string, string>
        {
            [".gitlab-ci.yml"] = Ci(path),
            [".gitlab-ci/image-tags.yml"] = "variables:\n  BUILD_TAG: \"2026-02-02-b\"\n",
            [".gitlab-ci/container/build.sh"] = Build,
            [".gitlab-ci/container/version"] = "3.0\n",
        };
        var upstreamCommit = await w.Maintainer.Post($"projects/{id}/repository/commits", Files.Commit("main", "CI", files));
        await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", upstreamCommit.Str("id"))).Long("id"));
        var fork = await w.Contributor.Post($"projects/{id}/fork", new { path = "fdo2-fork", name = "fdo2-fork" });
        var forkId = fork.Long("id");

        var change = await w.Contributor.Post($"projects/{forkId}/repository/commits", World.Commit("feature", "feature", "feature.txt", "x", startBranch: "main"));
        var p = await w.Contributor.WaitForPipeline(forkId, (await w.Contributor.LatestPipeline(forkId, "feature", change.Str("id"))).Long("id"));
        var jobs = (await w.Contributor.Get($"projects/{forkId}/pipelines/{p.Long("id")}/jobs")).AsArray();

        Assert.Equal("success", p.Str("status"));
        Assert.Contains("Copied", await w.Contributor.Trace(forkId, jobs[0]!.Long("id")));
        Assert.Contains("tool 3.0", await w.Contributor.Trace(forkId, jobs[1]!.Long("id")));
        var registry = await RegistryAs.RegistryUrl(w.Maintainer, id);
        var reader = RegistryAs.User(host, registry, w.MaintainerName, await PersonalToken(w));
        var original = await reader.GetManifestAsync($"{path}/debian/x86_64_build", "2026-02-02-b");
        var copy = await reader.GetManifestAsync($"{fork.Str("path_with_namespace").ToLowerInvariant()}/debian/x86_64_build", "2026-02-02-b");
        Assert.Equal(original!.Digest, copy!.Digest);
    }

    [Fact]
    public async Task Given_the_registry_When_called_without_a_valid_token_Then_the_registry_itself_refuses()
    {
        var w = await World.CreateAsync(host, "fdo3");
        var id = w.Upstream.Long("id");
        var path = w.Upstream.Str("path_with_namespace").ToLowerInvariant();
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", Files.Commit("main", "CI", new Dictionary<string, string>
        {
            [".gitlab-ci.yml"] = Ci(path), [".gitlab-ci/image-tags.yml"] = "variables:\n  BUILD_TAG: t\n",
            [".gitlab-ci/container/build.sh"] = Build, [".gitlab-ci/container/version"] = "1\n",
        }));
        await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));
        await w.Maintainer.Put($"projects/{id}", new { visibility = "private" });
        var registry = await RegistryAs.RegistryUrl(w.Maintainer, id);
        using var raw = new HttpClient { BaseAddress = registry };

        // No token: 401 with GitLab's realm in the challenge.
        using var anonymous = await raw.GetAsync($"/v2/{path}/debian/x86_64_build/tags/list");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains($"realm=\"{host.BaseUrl.ToString().TrimEnd('/')}/jwt/auth\"", anonymous.Headers.WwwAuthenticate.ToString());

        // A token signed by someone else: refused.
        using var forged = new HttpRequestMessage(HttpMethod.Get, $"/v2/{path}/debian/x86_64_build/tags/list");
        using var otherIssuer = new global::Sandbox.Registry.TokenIssuer();
        forged.Headers.Authorization = new AuthenticationHeaderValue("Bearer",
            otherIssuer.Mint("root", [new("repository", $"{path}/debian/x86_64_build", ["pull", "push"])], DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.Unauthorized, (await raw.SendAsync(forged)).StatusCode);

        // A stranger gets a token without this repository in it: the registry refuses the pull and the push.
        var stranger = RegistryAs.User(host, registry, $"stranger-fdo3", await PersonalToken(w, stranger: true));
        await Assert.ThrowsAsync<global::Sandbox.Registry.RegistryException>(() => stranger.TagsAsync($"{path}/debian/x86_64_build"));
        await Assert.ThrowsAsync<global::Sandbox.Registry.RegistryException>(() =>
            stranger.UploadBlobAsync($"{path}/debian/x86_64_build", [1, 2, 3], global::Sandbox.Registry.RegistryClient.Digest([1, 2, 3])));

        // The maintainer may pull; a wrong password is refused by /jwt/auth.
        var maintainer = RegistryAs.User(host, registry, w.MaintainerName, await PersonalToken(w));
        Assert.Equal(["t"], await maintainer.TagsAsync($"{path}/debian/x86_64_build"));
        var wrong = RegistryAs.User(host, registry, w.MaintainerName, "glpat-wrong");
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => wrong.TagsAsync($"{path}/debian/x86_64_build"));
    }

    private static async Task<string> PersonalToken(World w, bool stranger = false)
    {
        var user = await (stranger ? w.Stranger : w.Maintainer).Get("user");
        return (await w.Admin.Post($"users/{user.Long("id")}/personal_access_tokens", new { name = "registry", scopes = new[] { "read_registry" } })).Str("token");
    }
}
