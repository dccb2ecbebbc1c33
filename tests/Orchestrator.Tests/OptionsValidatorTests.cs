using Orchestrator.Hosting;
using Xunit;

namespace Orchestrator.Tests;

public sealed class OptionsValidatorTests
{
    private static OrchestratorOptions Valid() => new() { Postgres = { ConnectionString = "Host=x" } };

    private static IReadOnlyList<string> Errors(OrchestratorOptions o) =>
        new OrchestratorOptionsValidator().Validate(null, o).Failures?.ToList() ?? [];

    [Fact]
    public void Given_the_defaults_and_a_connection_string_When_validated_Then_nothing_is_wrong() => Assert.Empty(Errors(Valid()));

    [Fact]
    public void Given_bad_settings_When_validated_Then_each_bad_key_is_named()
    {
        var o = Valid();
        o.Postgres.ConnectionString = "";
        o.GitLab.BaseUrl = "https://gitlab.example.com";
        o.Telemetry.Exporter = "zipkin";
        o.Api.Tokens.Add(new ApiToken { Name = "bot", Sha256 = "not-a-hash", Scopes = ["write"] });
        o.Policies["12"] = new PolicySettings { Images = [new ImagePolicySettings { Name = "debian/x86_64_build", TagFile = "t.yml", TagKey = "TAG" }], MaxRebases = -1 };

        var errors = Errors(o);

        foreach (var key in new[] { "Postgres:ConnectionString", "GitLab:BotToken", "Registry:Url", "Telemetry:Exporter", "Api:Tokens:0:Sha256",
                     "Api:Tokens:0:Scopes", "Policies:12 maxRebases", "Policies:12 upstreamRepo" })
            Assert.Contains(errors, e => e.Contains("Orchestrator:" + key));
    }
}
