using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>
/// GitLab's CI lint (<c>GET</c>/<c>POST /projects/:id/ci/lint</c>): <c>valid</c>, <c>errors</c>, <c>warnings</c>,
/// <c>merged_yaml</c> with local includes folded in, <c>includes</c>. No recorded fixture of this answer exists in
/// /work/shared/fixtures/gitlab/api, so the behaviour is tested.
/// </summary>
public sealed class CiLintTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const string Main = """
        stages: [container, test]
        include:
          - local: .gitlab-ci/container/gitlab-ci.yml
        variables:
          FDO_UPSTREAM_REPO: mesa/mesa
        test:
          stage: test
          script: [echo test]
        """;

    private static readonly Dictionary<string, string> Files = new()
    {
        [".gitlab-ci.yml"] = Main,
        [".gitlab-ci/container/gitlab-ci.yml"] = """
            include: .gitlab-ci/image-tags.yml
            debian/x86_64_build:
              extends: .fdo.container-build@debian
              stage: container
              variables:
                FDO_DISTRIBUTION_TAG: $DEBIAN_BUILD_TAG
            """,
        [".gitlab-ci/image-tags.yml"] = "variables:\n  DEBIAN_BUILD_TAG: \"20261101-base\"\n",
    };

    private async Task<(World W, long Id, string Sha)> Project(string tag)
    {
        var w = await World.CreateAsync(host, tag);
        var id = w.Upstream.Long("id");
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits",
            Infrastructure.Files.Commit("main", "Add CI", Files));
        return (w, id, commit.Str("id"));
    }

    [Fact]
    public async Task Given_nested_local_includes_When_linted_at_a_ref_Then_valid_with_everything_folded_into_merged_yaml()
    {
        var (w, id, sha) = await Project("lint1");

        var lint = await w.Maintainer.Get($"projects/{id}/ci/lint?content_ref=main");

        Assert.True(lint["valid"]!.GetValue<bool>(), lint.ToJsonString());
        Assert.Empty(lint["errors"]!.AsArray());
        Assert.Empty(lint["warnings"]!.AsArray());
        var merged = lint.Str("merged_yaml");
        Assert.StartsWith("---", merged);
        Assert.Contains("DEBIAN_BUILD_TAG: \"20261101-base\"", merged.Replace("'", "\""));
        Assert.Contains("FDO_UPSTREAM_REPO: mesa/mesa", merged);
        Assert.Contains("debian/x86_64_build:", merged);
        Assert.DoesNotContain("include", merged);
        var includes = lint["includes"]!.AsArray();
        Assert.Equal([".gitlab-ci/container/gitlab-ci.yml", ".gitlab-ci/image-tags.yml"], includes.Select(i => i!.Str("location")));
        Assert.All(includes, i =>
        {
            Assert.Equal("local", i!.Str("type"));
            Assert.Equal(sha, i!.Str("context_sha"));
            Assert.Equal(w.Upstream.Str("path_with_namespace"), i!.Str("context_project"));
            Assert.Contains($"/-/blob/{sha}/", i!.Str("blob"));
        });
    }

    [Fact]
    public async Task Given_a_branch_with_another_config_When_linted_with_its_content_ref_Then_that_branchs_files_are_read()
    {
        var (w, id, _) = await Project("lint2");
        await w.Maintainer.Post($"projects/{id}/repository/commits", Infrastructure.Files.Commit("bump", "Bump",
            new Dictionary<string, string> { [".gitlab-ci/image-tags.yml"] = "variables:\n  DEBIAN_BUILD_TAG: \"20261115-tool\"\n" },
            action: "update", startBranch: "main"));

        var onBranch = await w.Maintainer.Get($"projects/{id}/ci/lint?content_ref=bump");
        var byDefault = await w.Maintainer.Get($"projects/{id}/ci/lint");

        Assert.Contains("20261115-tool", onBranch.Str("merged_yaml"));
        Assert.Contains("20261101-base", byDefault.Str("merged_yaml"));
    }

    [Theory]
    [InlineData("include:\n  - remote: https://example.com/ci.yml\njob:\n  script: [x]\n", "`remote`", "lint3a")]
    [InlineData("include:\n  - project: freedesktop/ci-templates\n    file: /templates/debian.yml\njob:\n  script: [x]\n", "`project`", "lint3b")]
    [InlineData("include:\n  - local: .gitlab-ci/missing.yml\njob:\n  script: [x]\n", "Local file `.gitlab-ci/missing.yml` does not exist!", "lint3c")]
    public async Task Given_an_include_the_sandbox_cannot_resolve_When_posted_Then_invalid_with_the_reason_and_no_merged_yaml(string content, string reason, string tag)
    {
        var (w, id, _) = await Project(tag);

        var lint = await w.Maintainer.Post($"projects/{id}/ci/lint", new { content }, HttpStatusCode.OK);

        Assert.False(lint["valid"]!.GetValue<bool>());
        Assert.Contains(lint["errors"]!.AsArray(), e => e!.GetValue<string>().Contains(reason));
        Assert.Null(lint["merged_yaml"]);
    }

    [Fact]
    public async Task Given_posted_content_with_a_local_include_When_linted_Then_the_include_is_read_from_the_default_branch()
    {
        var (w, id, _) = await Project("lint4");

        var lint = await w.Maintainer.Post($"projects/{id}/ci/lint",
            new { content = "include: .gitlab-ci/image-tags.yml\nbuild:\n  script: [make]\n" }, HttpStatusCode.OK);

        Assert.True(lint["valid"]!.GetValue<bool>(), lint.ToJsonString());
        Assert.Contains("20261101-base", lint.Str("merged_yaml"));
    }

    [Fact]
    public async Task Given_no_content_When_posted_Then_400_and_a_ref_without_config_is_invalid()
    {
        var (w, id, _) = await Project("lint5");

        var missing = await w.Maintainer.Post($"projects/{id}/ci/lint", new { }, HttpStatusCode.BadRequest);
        var unknownRef = await w.Maintainer.Get($"projects/{id}/ci/lint?content_ref=no-such-branch");

        Assert.Equal("content is missing", missing.Str("error"));
        Assert.False(unknownRef["valid"]!.GetValue<bool>());
        Assert.Equal(["Please provide content of .gitlab-ci.yml"], unknownRef["errors"]!.AsArray().Select(e => e!.GetValue<string>()));
    }
}
