using Orchestrator.Domain;
using Orchestrator.Domain.Policies;
using Xunit;

namespace Orchestrator.Tests.Policies;

public sealed class PolicySuggestionTests
{
    // The sandbox's seeded incident (infra/Sandbox/Seed/IncidentFiles.cs) as GitLab's lint merges it: the included
    // image-tags.yml folded in, extends left as written.
    private const string SeededMergedYaml = """
        stages: [container, test]
        variables:
          DEBIAN_BUILD_TAG: "20261101-base"
          FDO_UPSTREAM_REPO: mesa/mesa
        debian/x86_64_build:
          extends: .fdo.container-build@debian
          stage: container
          variables:
            FDO_REPO_SUFFIX: debian/x86_64_build
            FDO_DISTRIBUTION_TAG: $DEBIAN_BUILD_TAG
            FDO_DISTRIBUTION_EXEC: bash .gitlab-ci/container/debian/x86_64_build.sh
        test:
          stage: test
          image: $CI_REGISTRY_IMAGE/debian/x86_64_build:$DEBIAN_BUILD_TAG
          script:
            - bash .gitlab-ci/run-tests.sh
        """;

    private static readonly Dictionary<string, string> SeededFiles = new()
    {
        [".gitlab-ci.yml"] = """
            stages: [container, test]
            include:
              - local: .gitlab-ci/image-tags.yml
            variables:
              FDO_UPSTREAM_REPO: mesa/mesa
            """,
        [".gitlab-ci/image-tags.yml"] = "variables:\n  DEBIAN_BUILD_TAG: \"20261101-base\"\n",
    };

    // Mesa's shape: tags in image-tags.yml (included from a nested file), a hidden .container template naming the image
    // after the job and composing the tag, extends as a list, an arm64 variant of the template, a YAML merge key.
    private const string MesaMergedYaml = """
        variables:
          FDO_UPSTREAM_REPO: mesa/mesa
          MESA_TEMPLATES_COMMIT: &ci-templates-commit e195d80f35b45cc73668be3767b923fd76c70ed5
          DEBIAN_BUILD_TAG: "20250926-D3D618"
          DEBIAN_ARM64_TAG: "20250920-arm"
        .container-vars: &container-vars
          GIT_STRATEGY: fetch
        .container:
          stage: container
          variables:
            <<: *container-vars
            FDO_REPO_SUFFIX: $CI_JOB_NAME
            FDO_DISTRIBUTION_TAG: "${MESA_IMAGE_TAG}--${MESA_TEMPLATES_COMMIT}"
        debian/x86_64_build:
          extends:
            - .fdo.container-build@debian
            - .container
          variables:
            MESA_IMAGE_TAG: $DEBIAN_BUILD_TAG
            FDO_DISTRIBUTION_EXEC: 'bash .gitlab-ci/container/debian/x86_64_build.sh'
        debian/arm64_build:
          extends:
            - .fdo.container-build@debian@arm64
            - .container
          variables:
            MESA_IMAGE_TAG: $DEBIAN_ARM64_TAG
            FDO_DISTRIBUTION_EXEC: 'bash .gitlab-ci/container/debian/arm64_build.sh'
        build-x86_64:
          image: $CI_REGISTRY_IMAGE/debian/x86_64_build:$DEBIAN_BUILD_TAG
          script: [ninja]
        """;

    private static readonly Dictionary<string, string> MesaFiles = new()
    {
        [".gitlab-ci.yml"] = "include:\n  - local: '.gitlab-ci/container/gitlab-ci.yml'\n  - project: freedesktop/ci-templates\n    file: /templates/debian.yml\n",
        [".gitlab-ci/container/gitlab-ci.yml"] = "include:\n  - '.gitlab-ci/image-tags.yml'\n",
        [".gitlab-ci/image-tags.yml"] = "variables:\n  DEBIAN_BUILD_TAG: \"20250926-D3D618\"\n  DEBIAN_ARM64_TAG: \"20250920-arm\"\n",
    };

    private static Func<string, CancellationToken, Task<string?>> Reader(Dictionary<string, string> files) =>
        (path, _) => Task.FromResult(files.GetValueOrDefault(path));

    [Fact]
    public async Task Given_the_seeded_incident_config_When_suggested_Then_the_policy_demo_uses()
    {
        var policy = await PolicySuggestion.SuggestAsync(SeededMergedYaml, Reader(SeededFiles));

        Assert.NotNull(policy);
        var image = Assert.Single(policy.Images);
        Assert.Equal(("debian/x86_64_build", ".gitlab-ci/image-tags.yml", "DEBIAN_BUILD_TAG"), (image.Name, image.TagFile, image.TagKey));
        Assert.Equal([".gitlab-ci/container/**"], image.Inputs);
        Assert.Equal("mesa/mesa", policy.UpstreamRepo);
        Assert.Empty(policy.Validate());
    }

    [Fact]
    public async Task Given_a_mesa_like_config_with_templates_and_composed_tags_When_suggested_Then_each_image_with_its_tag_variable()
    {
        var policy = await PolicySuggestion.SuggestAsync(MesaMergedYaml, Reader(MesaFiles));

        Assert.NotNull(policy);
        Assert.Equal(
            [
                new ImagePolicy("debian/x86_64_build", ".gitlab-ci/image-tags.yml", "DEBIAN_BUILD_TAG", [".gitlab-ci/container/**"]),
                new ImagePolicy("debian/arm64_build", ".gitlab-ci/image-tags.yml", "DEBIAN_ARM64_TAG", [".gitlab-ci/container/**"]),
            ],
            policy.Images.Select(i => i with { Inputs = [.. i.Inputs] }),
            new ImageComparer());
        Assert.Equal("mesa/mesa", policy.UpstreamRepo);
    }

    [Fact]
    public async Task Given_extends_already_inlined_by_gitlab_When_suggested_Then_the_build_is_found_by_its_script()
    {
        const string inlined = """
            variables:
              ALPINE_TAG: "2025-01-01"
            alpine/base:
              image: quay.io/freedesktop.org/ci-templates:container-build-base-2023-06-27.1
              script:
                - /app/.fdo_container_build
              variables:
                FDO_DISTRIBUTION_VERSION: latest
                FDO_DISTRIBUTION_TAG: $ALPINE_TAG
                FDO_UPSTREAM_REPO: group/project
            """;
        var files = new Dictionary<string, string> { [".gitlab-ci.yml"] = "variables:\n  ALPINE_TAG: \"2025-01-01\"\n" };

        var policy = await PolicySuggestion.SuggestAsync(inlined, Reader(files));

        var image = Assert.Single(policy!.Images);
        Assert.Equal((".gitlab-ci.yml", "ALPINE_TAG"), (image.TagFile, image.TagKey));
        Assert.Empty(image.Inputs);
        Assert.Equal("group/project", policy.UpstreamRepo);
    }

    [Fact]
    public async Task Given_no_repo_suffix_When_suggested_Then_ci_templates_default_name_distribution_slash_version()
    {
        const string config = """
            fedora-image:
              extends: .fdo.container-build@fedora
              variables:
                FDO_DISTRIBUTION_VERSION: "41"
                FDO_DISTRIBUTION_TAG: $FEDORA_TAG
                FDO_DISTRIBUTION_EXEC: ci/build-image.sh
            """;
        var files = new Dictionary<string, string> { [".gitlab-ci.yml"] = "variables:\n  FEDORA_TAG: x\n" };

        var policy = await PolicySuggestion.SuggestAsync(config, Reader(files));

        var image = Assert.Single(policy!.Images);
        Assert.Equal("fedora/41", image.Name);
        Assert.Equal(["ci/**"], image.Inputs);
    }

    [Fact]
    public async Task Given_a_tag_variable_no_file_defines_When_suggested_Then_the_tag_file_is_empty_and_the_policy_is_refused_as_is()
    {
        const string config = """
            img:
              extends: .fdo.container-build@debian
              variables:
                FDO_REPO_SUFFIX: debian/img
                FDO_DISTRIBUTION_TAG: $SET_IN_PROJECT_SETTINGS
                FDO_UPSTREAM_REPO: g/p
            """;

        var policy = await PolicySuggestion.SuggestAsync(config, Reader([]));

        var image = Assert.Single(policy!.Images);
        Assert.Equal(("", "SET_IN_PROJECT_SETTINGS"), (image.TagFile, image.TagKey));
        Assert.Contains(policy.Validate(), e => e.Contains("tagFile"));
    }

    [Theory]
    [InlineData("build:\n  script: [make]\ntest:\n  image: debian:bookworm\n  script: [make check]\n")]
    [InlineData(".template:\n  extends: .fdo.container-build@debian\n  variables:\n    FDO_DISTRIBUTION_TAG: $T\n")]
    [InlineData("")]
    [InlineData("not: [valid")]
    public async Task Given_a_project_building_no_ci_templates_image_When_suggested_Then_null(string config) =>
        Assert.Null(await PolicySuggestion.SuggestAsync(config, Reader([])));

    private sealed class ImageComparer : IEqualityComparer<ImagePolicy>
    {
        public bool Equals(ImagePolicy? x, ImagePolicy? y) =>
            x is not null && y is not null && (x.Name, x.TagFile, x.TagKey) == (y.Name, y.TagFile, y.TagKey) && x.Inputs.SequenceEqual(y.Inputs);

        public int GetHashCode(ImagePolicy obj) => obj.Name.GetHashCode();
    }
}
