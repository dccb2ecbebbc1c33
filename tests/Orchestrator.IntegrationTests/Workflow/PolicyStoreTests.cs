using Marten;
using Microsoft.Extensions.Options;
using Orchestrator.Domain;
using Orchestrator.Hosting;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Xunit;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// Two silos' policy caches on one database: the hot path may see another silo's save a few seconds late, but an
/// attempt never acts on "no policy" (images unchecked) that is only a cached answer.
/// </summary>
public sealed class PolicyStoreTests(SchemaFixture db) : IClassFixture<SchemaFixture>, IAsyncLifetime
{
    private DocumentStore store = null!;

    public Task InitializeAsync()
    {
        store = DocumentStore.For(o => MartenSetup.Configure(o, db.DataSource, db.Schema));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await store.DisposeAsync();

    private PolicyStore Silo() => new(store, Options.Create(new OrchestratorOptions()), TimeProvider.System);

    [Fact]
    public async Task Given_a_silo_that_cached_no_policy_When_another_silo_stores_one_Then_an_attempt_acts_on_the_stored_one_at_once()
    {
        var (here, there) = (Silo(), Silo());
        Assert.Empty((await here.GetAsync(41)).Images);
        var policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", "t.yml", "TAG", ["ci/**"])], "mesa/mesa");

        await there.SaveAsync(41, policy);

        // The hot path's cache may lag (PolicyStore.Freshness); what an attempt acts on, and the refusal for none, do not.
        Assert.Empty((await here.GetAsync(41)).Images);
        Assert.Equal("debian/x86_64_build", Assert.Single((await here.CurrentAsync(41)).Images).Name);
        Assert.True(await here.IsConfiguredAsync(41));
        Assert.False(await here.IsConfiguredAsync(42));
    }
}
