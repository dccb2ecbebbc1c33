using Orchestrator.Hosting;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.Tests.Persistence;

/// <summary>A schema name is written into SQL unquoted: the one rule, where settings are checked and where the schema is used.</summary>
public sealed class SchemaNameTests
{
    [Theory]
    [InlineData("orchestrator")]
    [InlineData("t_0123456789abcdef")]
    [InlineData("_x9")]
    public void Given_a_plain_lower_case_name_When_checked_Then_settings_and_store_accept_it(string name)
    {
        Assert.True(PostgresSchema.IsValidName(name));
        Assert.Equal(name, new PostgresSchema(name).Name);
        Assert.DoesNotContain(Errors(name), e => e.Contains("Postgres:Schema"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Orchestrator")]
    [InlineData("9lives")]
    [InlineData("a-b")]
    [InlineData("x; drop schema public cascade")]
    [InlineData("\"quoted\"")]
    public void Given_a_name_that_would_need_quoting_When_checked_Then_settings_and_store_refuse_it_with_the_rule(string name)
    {
        Assert.False(PostgresSchema.IsValidName(name));
        Assert.Contains(PostgresSchema.NameRule, Assert.Throws<ArgumentException>(() => new PostgresSchema(name)).Message);
        Assert.Contains(Errors(name), e => e.Contains("Postgres:Schema") && e.Contains(PostgresSchema.NameRule));
    }

    [Fact]
    public void Given_the_longest_name_When_checked_Then_59_characters_pass_and_60_do_not()
    {
        Assert.True(PostgresSchema.IsValidName(new string('a', 59)));
        Assert.False(PostgresSchema.IsValidName(new string('a', 60)));
    }

    [Fact]
    public void Given_a_prefix_When_a_unique_name_is_made_Then_it_is_valid_of_the_asked_length_and_new_each_time()
    {
        var (one, two) = (PostgresSchema.Unique("bench_resume", 28), PostgresSchema.Unique("bench_resume", 28));
        Assert.StartsWith("bench_resume_", one);
        Assert.Equal(28, one.Length);
        Assert.NotEqual(one, two);
        Assert.Throws<ArgumentException>(() => PostgresSchema.Unique("Bench"));
    }

    private static IReadOnlyList<string> Errors(string schema) =>
        new OrchestratorOptionsValidator().Validate(null, new OrchestratorOptions { Postgres = { ConnectionString = "Host=x", Schema = schema } })
            .Failures?.ToList() ?? [];
}
