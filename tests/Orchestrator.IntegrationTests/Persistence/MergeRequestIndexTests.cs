using Marten;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Persistence;

/// <summary>The MR summaries as the wake-up at start reads them.</summary>
public sealed class MergeRequestIndexTests(SchemaFixture db) : IClassFixture<SchemaFixture>
{
    private static readonly DateTimeOffset T = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Given_workflows_in_every_state_across_projects_When_the_active_ones_are_listed_Then_those_under_way_come_oldest_first()
    {
        await using var store = DocumentStore.For(o => MartenSetup.Configure(o, db.DataSource, db.Schema));
        var index = new MergeRequestIndex(store);
        var states = Enum.GetValues<WorkflowState>();
        // Newest first in the enum's order, so the answer's order is the index's doing.
        await using (var session = store.LightweightSession())
        {
            // The summaries as the journal writes them, in the commit of each stream's events.
            foreach (var (state, i) in states.Select((s, i) => (s, i)))
                session.Store(MergeRequestIndex.Summarize(new MergeRequestKey(100 + i % 2, i + 1),
                    MergeRequestWorkflow.Initial with { State = state, UpdatedAt = T.AddMinutes(-i) }));
            await session.SaveChangesAsync();
        }

        var active = await index.ActiveAsync();

        var expected = states.Select((s, i) => (s, Key: new MergeRequestKey(100 + i % 2, i + 1))).Where(x => x.s.IsActive()).Select(x => x.Key).Reverse();
        Assert.Equal(expected, active);
        Assert.Equal(7, active.Count);
    }
}
