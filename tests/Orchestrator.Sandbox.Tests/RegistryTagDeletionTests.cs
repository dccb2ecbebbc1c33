using System.Net;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>DELETE /projects/:id/registry/repositories/:repository_id/tags/:tag_name on the real registry.</summary>
public sealed class RegistryTagDeletionTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const string Ci = """
        stages: [container]
        build-image:
          extends: .fdo.container-build@debian
          stage: container
          variables:
            FDO_REPO_SUFFIX: debian/deletable
            FDO_DISTRIBUTION_TAG: "2026-05-05-d"
            FDO_DISTRIBUTION_EXEC: mkdir -p "$IMAGE_ROOT/bin"
        """;

    [Fact]
    public async Task Given_two_tags_of_one_image_When_a_developer_deletes_one_Then_only_that_tag_leaves_the_registry_and_a_reporter_is_refused()
    {
        var w = await World.CreateAsync(host, "tagdel");
        var id = w.Upstream.Long("id");
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "CI", ".gitlab-ci.yml", Ci));
        var pipeline = await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));
        Assert.Equal("success", pipeline.Str("status"));
        var repo = $"{w.Upstream.Str("path_with_namespace").ToLowerInvariant()}/debian/deletable";
        var registry = await RegistryAs.RegistryUrl(w.Maintainer, id);
        var user = await w.Maintainer.Get("user");
        var token = (await w.Admin.Post($"users/{user.Long("id")}/personal_access_tokens", new { name = "registry", scopes = new[] { "write_registry" } })).Str("token");
        var client = RegistryAs.User(host, registry, w.MaintainerName, token);
        var image = (await client.GetManifestAsync(repo, "2026-05-05-d"))!;
        await client.PutManifestAsync(repo, "kept", image.Bytes, image.MediaType);
        var repositoryId = (await w.Maintainer.Get($"projects/{id}/registry/repositories")).AsArray().Single()!.Long("id");
        var tagPath = $"projects/{id}/registry/repositories/{repositoryId}/tags";
        var (reporter, _) = await w.Member("reporter", 20);
        var (developer, _) = await w.Member("developer", 30);

        await reporter.Delete($"{tagPath}/2026-05-05-d", HttpStatusCode.Forbidden);
        // GitLab answers 200 with no entity to present.
        using (var deleted = await developer.DeleteAsync($"{tagPath}/2026-05-05-d")) Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        await developer.Delete($"{tagPath}/no-such-tag", HttpStatusCode.NotFound);

        Assert.Null(await client.GetManifestAsync(repo, "2026-05-05-d"));
        Assert.Equal(image.Digest, (await client.GetManifestAsync(repo, "kept"))!.Digest);
        Assert.Equal(["kept"], await client.TagsAsync(repo));
        await w.Maintainer.Get($"{tagPath}/2026-05-05-d", HttpStatusCode.NotFound);
    }
}
