using Orchestrator.Domain.Policies;
using Xunit;

namespace Orchestrator.Tests.Policies;

public sealed class BuildInputsTests
{
    [Theory]
    [InlineData("bash .gitlab-ci/container/debian/x86_64_build.sh", "debian", "debian/x86_64_build", ".gitlab-ci/container/**")]
    [InlineData("./ci/images/alpine.sh --fast", "alpine", "alpine/edge", "ci/images/**")]
    [InlineData("sh -c 'ci/setup.sh && ci/more/extra.sh'", "fedora", "fedora/41", "ci/**|ci/more/**")]
    [InlineData("install.sh", null, "x/y", "install.sh")]
    [InlineData("/usr/bin/setup $CI_PROJECT_DIR/x.sh FOO=1", "debian", "debian/x", "")]
    [InlineData("", "debian", "debian/x", "")]
    public void Given_an_exec_command_line_When_reduced_to_inputs_Then_the_folders_its_scripts_sit_in(string exec, string? distro, string image, string expected) =>
        Assert.Equal(expected.Length == 0 ? [] : expected.Split('|'), BuildInputs.Globs(exec, distro, image));
}
