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

    [Theory]
    [InlineData(0, 0, "Postgres:JournalWriters")]
    [InlineData(17, 0, "Postgres:JournalWriters")]
    [InlineData(2, 101, "Postgres:JournalLinger")]
    [InlineData(2, -1, "Postgres:JournalLinger")]
    public void Given_a_journal_batching_setting_out_of_range_When_validated_Then_it_is_named(int writers, int lingerMs, string key)
    {
        var o = Valid();
        o.Postgres.JournalWriters = writers;
        o.Postgres.JournalLinger = TimeSpan.FromMilliseconds(lingerMs);

        Assert.Contains(Errors(o), e => e.Contains("Orchestrator:" + key));
    }

    [Fact]
    public void Given_a_policy_that_reapproves_When_no_admin_token_is_set_Then_the_setting_it_needs_is_named()
    {
        var o = Valid();
        o.Policies["12"] = new PolicySettings { ApprovalsResetOnPush = "reapprove" };
        o.Policies["13"] = new PolicySettings { ApprovalsResetOnPush = "sometimes" };

        var errors = Errors(o);

        Assert.Contains(errors, e => e.Contains("Orchestrator:Policies:12:ApprovalsResetOnPush") && e.Contains("GitLab:AdminToken") && e.Contains("sudo"));
        Assert.Contains(errors, e => e.Contains("Orchestrator:Policies:13 approvalsResetOnPush must be refuse or reapprove"));
    }

    [Fact]
    public void Given_an_admin_token_When_it_is_the_bots_own_or_has_no_gitlab_Then_it_is_refused_and_otherwise_accepted()
    {
        var o = Valid();
        o.GitLab.AdminToken = "glpat-shared";
        o.GitLab.BotToken = "glpat-shared";
        Assert.Contains(Errors(o), e => e.Contains("Orchestrator:GitLab:AdminToken must not be the bot's token"));
        Assert.Contains(Errors(o), e => e.Contains("Orchestrator:GitLab:AdminToken is set but GitLab:BaseUrl is not"));

        o.GitLab.BaseUrl = "https://gitlab.example.com";
        o.GitLab.BotToken = "glpat-bot";
        o.Registry.Url = "https://registry.example.com";
        o.Policies["12"] = new PolicySettings { ApprovalsResetOnPush = "reapprove" };
        Assert.Empty(Errors(o));
    }
}
