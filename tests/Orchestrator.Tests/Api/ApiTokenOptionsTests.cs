using Orchestrator.Hosting;
using Xunit;

namespace Orchestrator.Tests.Api;

public sealed class ApiTokenOptionsTests
{
    private static IReadOnlyList<string> ErrorsFor(string? gitLabUser)
    {
        var o = new OrchestratorOptions { Postgres = { ConnectionString = "Host=x" } };
        o.Api.Tokens.Add(new ApiToken { Name = "release", Sha256 = new string('a', 64), Scopes = ["merge"], GitLabUser = gitLabUser });
        return new OrchestratorOptionsValidator().Validate(null, o).Failures?.ToList() ?? [];
    }

    [Theory]
    [InlineData(null)]
    [InlineData("alice")]
    [InlineData("mesa.bot-2_x")]
    public void Given_a_token_without_or_with_a_plain_GitLab_user_When_validated_Then_nothing_is_wrong(string? user) =>
        Assert.Empty(ErrorsFor(user));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("alice ")]
    [InlineData("al ice")]
    [InlineData("alice\n")]
    [InlineData("al\tice")]
    [InlineData("@alice")]
    public void Given_a_blank_or_spaced_GitLab_user_When_validated_Then_the_key_is_named(string user) =>
        Assert.Contains(ErrorsFor(user), e => e.StartsWith("Orchestrator:Api:Tokens:0:GitLabUser "));

    [Fact]
    public void Given_an_overlong_GitLab_user_When_validated_Then_the_key_is_named() =>
        Assert.Contains(ErrorsFor(new string('a', 256)), e => e.StartsWith("Orchestrator:Api:Tokens:0:GitLabUser "));
}
