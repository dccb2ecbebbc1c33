using Orchestrator.Hosting;
using Xunit;

namespace Orchestrator.Tests.Webhooks;

/// <summary>A shared webhook secret signs only for the projects listed with it; start-up refuses it otherwise.</summary>
public sealed class WebhookSecretOptionsTests
{
    private static OrchestratorOptions Valid() => new() { Postgres = { ConnectionString = "Host=x" } };

    private static IReadOnlyList<string> Errors(OrchestratorOptions o) =>
        new OrchestratorOptionsValidator().Validate(null, o).Failures?.ToList() ?? [];

    [Fact]
    public void Given_a_default_secret_without_its_list_of_projects_When_validated_Then_the_list_is_required()
    {
        var o = Valid();
        o.Webhooks.DefaultSecret = "shared";

        Assert.Contains(Errors(o), e => e.StartsWith("Orchestrator:Webhooks:DefaultSecretProjects must list", StringComparison.Ordinal));
    }

    [Fact]
    public void Given_a_default_secret_with_its_projects_When_validated_Then_nothing_is_wrong()
    {
        var o = Valid();
        o.Webhooks.DefaultSecret = "shared";
        o.Webhooks.DefaultSecretProjects = [5, 7];
        o.Webhooks.Projects["9"] = new ProjectWebhook { Secret = "own" };

        Assert.Empty(Errors(o));
    }

    [Theory]
    [InlineData(null, new long[] { 5 }, "is set but Webhooks:DefaultSecret is not")]
    [InlineData("shared", new long[] { 0 }, "must be numeric project ids")]
    [InlineData("shared", new long[] { -3 }, "must be numeric project ids")]
    [InlineData("shared", new long[] { 9 }, "lists project 9, which has a secret of its own")]
    public void Given_a_list_that_cannot_be_meant_When_validated_Then_it_is_named(string? secret, long[] projects, string error)
    {
        var o = Valid();
        o.Webhooks.DefaultSecret = secret;
        o.Webhooks.DefaultSecretProjects = [.. projects];
        o.Webhooks.Projects["9"] = new ProjectWebhook { Secret = "own" };

        Assert.Contains(Errors(o), e => e.StartsWith("Orchestrator:Webhooks:DefaultSecretProjects " + error, StringComparison.Ordinal));
    }
}
