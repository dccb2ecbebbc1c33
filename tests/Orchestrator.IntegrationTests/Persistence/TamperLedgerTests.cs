using Marten;
using Orchestrator.Domain;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Persistence;

/// <summary>What the registry guard reads of other merge requests' tamperings, from the event store as the journal stores them.</summary>
public sealed class TamperLedgerTests(SchemaFixture db) : IClassFixture<SchemaFixture>
{
    private static readonly DateTimeOffset T = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
    private const string Repo = "mesa/mesa/debian/x86_64_build";

    private static RegistryTampered Tampered(string tag, string? before, string planted) =>
        new(1, 4711, [$"{Repo}:{tag} changed"], T, [new TagRestore(Repo, tag, before, planted)]);

    [Fact]
    public async Task Given_tamperings_in_several_streams_When_one_merge_request_reads_the_ledger_Then_it_gets_its_project_s_others_only()
    {
        await using var store = DocumentStore.For(o => MartenSetup.Configure(o, db.DataSource, db.Schema));
        await using (var session = store.LightweightSession())
        {
            session.Events.Append(new MergeRequestKey(12, 1).StreamKey, new MergeRequested(1, "marge", T), Tampered("base", "sha256:aa", "sha256:p1"));
            session.Events.Append(new MergeRequestKey(12, 2).StreamKey, new MergeRequested(1, "marge", T), Tampered("next", null, "sha256:p2"));
            // Another project's, and a project whose id starts with the same digits.
            session.Events.Append(new MergeRequestKey(13, 1).StreamKey, new MergeRequested(1, "marge", T), Tampered("base", "sha256:aa", "sha256:p3"));
            session.Events.Append(new MergeRequestKey(123, 1).StreamKey, new MergeRequested(1, "marge", T), Tampered("base", "sha256:aa", "sha256:p4"));
            await session.SaveChangesAsync();
        }

        var elsewhere = await new MartenTamperLedger(store).ElsewhereAsync(new MergeRequestKey(12, 2));

        Assert.Equal([new TagRestore(Repo, "base", "sha256:aa", "sha256:p1")], elsewhere);
    }

    [Fact]
    public async Task Given_guarded_pipelines_in_several_streams_When_asked_who_ran_at_our_snapshot_Then_the_project_s_other_open_windows_are_named()
    {
        var nothing = new VerificationEvidence(Repo, [], [], [], []);
        await using var store = DocumentStore.For(o => MartenSetup.Configure(o, db.DataSource, db.Schema));
        await using (var session = store.LightweightSession())
        {
            session.Events.Append(new MergeRequestKey(22, 1).StreamKey, new MergeRequested(1, "marge", T), new PipelinePrepared(1, [], [], T.AddMinutes(1), true));
            session.Events.Append(new MergeRequestKey(22, 2).StreamKey, new MergeRequested(1, "marge", T), new PipelinePrepared(1, [], [], T.AddMinutes(1), true),
                new RegistryChecked(1, 1, 1, 4711, "failed", nothing, T.AddMinutes(2)));
            session.Events.Append(new MergeRequestKey(23, 1).StreamKey, new MergeRequested(1, "marge", T), new PipelinePrepared(1, [], [], T.AddMinutes(1), true));
            session.Events.Append(new MergeRequestKey(22, 3).StreamKey, new MergeRequested(1, "marge", T), new PipelinePrepared(1, [], [], T.AddMinutes(3), true));
            await session.SaveChangesAsync();
        }

        var open = await new MartenTamperLedger(store).OverlappingAsync(new MergeRequestKey(22, 3), T.AddMinutes(3));

        Assert.Equal(["mr-22-1"], open);
    }
}
