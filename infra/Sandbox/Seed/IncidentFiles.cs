namespace Sandbox.Seed;

/// <summary>
/// The files of the seeded incident: a Mesa-like project whose CI builds its image with ci-templates'
/// container job (tags in <c>.gitlab-ci/image-tags.yml</c>) and runs its tests inside that image.
/// The image carries the packages listed in <c>packages.txt</c> at build time; the tests check the
/// packages their requirements name, so a stale image fails them by its content, not by a label.
/// </summary>
public static class IncidentFiles
{
    public const string BaseTag = "20261101-base";
    public const string ToolTag = "20261115-tool";

    public const string GitLabCi = """
        stages: [container, test]
        include:
          - local: .gitlab-ci/image-tags.yml
        variables:
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

    public static string ImageTags(string tag) => $"variables:\n  DEBIAN_BUILD_TAG: \"{tag}\"\n";

    public const string PackagesV1 = "libfoo=1\nlibbar=1\n";
    public const string PackagesV2 = "libfoo=2\nlibbar=1\n";

    public const string BaseBuild = """
        set -euo pipefail
        mkdir -p "$IMAGE_ROOT/bin" "$IMAGE_ROOT/usr/share"
        cp .gitlab-ci/container/packages.txt "$IMAGE_ROOT/usr/share/packages.txt"
        cat > "$IMAGE_ROOT/bin/has-package" <<'TOOL'
        #!/bin/bash
        # has-package NAME MIN_VERSION: is NAME installed in this image, at MIN_VERSION or later?
        v=$(grep "^$1=" "$(dirname "$0")/../usr/share/packages.txt" | cut -d= -f2)
        [ -n "$v" ] && [ "$v" -ge "$2" ]
        TOOL
        chmod +x "$IMAGE_ROOT/bin/has-package"
        echo "installed: $(tr '\n' ' ' < .gitlab-ci/container/packages.txt)"
        """;

    /// <summary>MR A's build: mesa-tool is compiled against the libfoo <paramref name="api"/> API.</summary>
    public static string ToolBuild(int api) => BaseBuild + $$"""

        if ! grep -q '^libfoo={{api}}$' .gitlab-ci/container/packages.txt; then
          echo "error: mesa-tool needs the libfoo {{api}} API, packages.txt has $(grep '^libfoo=' .gitlab-ci/container/packages.txt)"
          exit 1
        fi
        printf '#!/bin/bash\necho "mesa-tool built against libfoo {{api}}"\n' > "$IMAGE_ROOT/bin/mesa-tool"
        chmod +x "$IMAGE_ROOT/bin/mesa-tool"
        """;

    public const string RunTests = """
        set -euo pipefail
        while read -r name min; do
          [ -z "$name" ] && continue
          if has-package "$name" "$min"; then echo "ok: $name >= $min"; else echo "FAIL: the image lacks $name >= $min"; exit 1; fi
        done < tests/requirements.txt
        if command -v mesa-tool >/dev/null; then mesa-tool; fi
        """;

    public const string RequirementsBase = "libbar 1\n";
    public static string RequirementsWithFoo(int version) => $"libbar 1\nlibfoo {version}\n";
}
