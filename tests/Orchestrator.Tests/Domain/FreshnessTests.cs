using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.Tests.Domain;

public sealed class FreshnessRuleTests
{
    private static readonly RegistryImage Image = new("sha256:aa", "c0ffee", 41, 4242);

    private static ImageObservation Observed(
        string tag = "20261115-tool", string? targetTag = "20261101-base", bool inputsChanged = true, RegistryImage? upstream = null,
        bool upstreamInTarget = false, RegistryImage? source = null, bool ancestor = true, bool changedSince = false, bool provenance = true) =>
        new("debian/x86_64_build", tag, targetTag, inputsChanged, upstream, upstreamInTarget, source, ancestor, changedSince, provenance);

    [Fact]
    public void Given_inputs_changed_without_a_tag_bump_When_assessed_Then_unbumped() =>
        Assert.Equal(FreshnessVerdict.Unbumped, Freshness.Assess(Observed(tag: "t0", targetTag: "t0")).Verdict);

    [Fact]
    public void Given_the_tag_upstream_built_from_the_target_history_When_assessed_Then_upstream() =>
        Assert.Equal(FreshnessVerdict.Upstream, Freshness.Assess(Observed(upstream: Image, upstreamInTarget: true, source: Image)).Verdict);

    [Fact]
    public void Given_a_source_image_on_top_of_the_target_with_provenance_When_assessed_Then_fresh() =>
        Assert.Equal(FreshnessVerdict.Fresh, Freshness.Assess(Observed(source: Image)).Verdict);

    [Theory]
    [InlineData(false, false, true, "not an ancestor")]
    [InlineData(true, true, true, "inputs changed")]
    [InlineData(true, false, false, "does not confirm job 4242 of pipeline 41")]
    public void Given_a_source_image_failing_a_check_When_assessed_Then_stale_with_the_reason(bool ancestor, bool changedSince, bool provenance, string reason)
    {
        var a = Freshness.Assess(Observed(source: Image, ancestor: ancestor, changedSince: changedSince, provenance: provenance));
        Assert.Equal(FreshnessVerdict.Stale, a.Verdict);
        Assert.Contains(reason, a.Reason);
        Assert.Equal("c0ffee", a.FdoCommit);
    }

    [Fact]
    public void Given_an_upstream_tag_not_from_the_target_history_and_no_source_image_When_assessed_Then_stale_to_be_rebuilt() =>
        Assert.Equal(FreshnessVerdict.Stale, Freshness.Assess(Observed(upstream: Image, upstreamInTarget: false)).Verdict);

    [Theory]
    [InlineData("variables:\n  DEBIAN_BUILD_TAG: \"20250926-D3D618\"\n", "20250926-D3D618")]
    [InlineData("DEBIAN_BUILD_TAG: 2025-x # comment\n", "2025-x")]
    [InlineData("OTHER: 1\n", null)]
    public void Given_a_tag_file_When_read_Then_the_keyed_tag_comes_back(string file, string? tag) =>
        Assert.Equal(tag, Freshness.ReadTag(file, "DEBIAN_BUILD_TAG"));

    [Theory]
    [InlineData(".gitlab-ci/container/**", ".gitlab-ci/container/debian/x86_64_build.sh", true)]
    [InlineData(".gitlab-ci/container/**", ".gitlab-ci/image-tags.yml", false)]
    [InlineData(".gitlab-ci/*.yml", ".gitlab-ci/image-tags.yml", true)]
    [InlineData(".gitlab-ci/*.yml", ".gitlab-ci/x/y.yml", false)]
    [InlineData("**/build.sh", "a/b/build.sh", true)]
    public void Given_input_globs_When_matched_Then_folders_are_respected(string glob, string path, bool match) =>
        Assert.Equal(match, Freshness.Matches(glob, path));
}
