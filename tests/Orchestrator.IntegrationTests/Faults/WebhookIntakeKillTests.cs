using System.Collections.Concurrent;
using System.Net;
using Orchestrator.IntegrationTests.Api.Webhooks;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.IntegrationTests.Faults;

/// <summary>
/// The intake as a real process under a load of concurrent deliveries (16 at a time, each a new merge request that
/// assigns the bot), SIGKILLed mid-load: every delivery it answered 2xx must be applied exactly once, counted in
/// PostgreSQL, and replaying every key to the next process must apply nothing new.
/// </summary>
[Trait("Category", "Fault")]
public sealed class WebhookIntakeKillTests(SchemaFixture db, ITestOutputHelper output) : IClassFixture<SchemaFixture>
{
    private readonly string secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    private const long Project = 14;

    private SiloProcess StartSilo(string url)
    {
        var env = new Dictionary<string, string>
        {
            ["Orchestrator__Postgres__ConnectionString"] = TestPostgres.ConnectionString,
            ["Orchestrator__Postgres__Schema"] = db.Schema,
            ["Orchestrator__GitLab__BotUsername"] = OrchestratorApiFactory.Bot,
            [$"Orchestrator__Webhooks__Projects__{Project}__Secret"] = secret,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        return SiloProcess.Start(SiloProcess.BuiltDll, url, env, output.WriteLine);
    }

    private HttpRequestMessage Delivery(long iid)
    {
        var payload = WebhookFixtures.Consistent("merge_request.open.json");
        payload["object_attributes"]!["iid"] = iid;
        return WebhookFixtures.Delivery("Merge Request Hook", payload.ToJsonString(), secret, $"kill-{iid}");
    }

    /// <summary>merge_requested events per merge request of this test, as PostgreSQL holds them.</summary>
    private async Task<Dictionary<long, long>> AppliedAsync()
    {
        await using var cmd = db.DataSource.CreateCommand(
            $"select stream_id, count(*) from {db.Schema}.mt_events where type = 'merge_requested' group by stream_id");
        await using var reader = await cmd.ExecuteReaderAsync();
        var applied = new Dictionary<long, long>();
        while (await reader.ReadAsync()) applied[long.Parse(reader.GetString(0)[$"mr-{Project}-".Length..])] = reader.GetInt64(1);
        return applied;
    }

    [Fact]
    public async Task Given_deliveries_pouring_in_When_the_silo_is_killed_Then_each_answered_one_is_applied_once_and_a_replay_of_every_key_applies_nothing_new()
    {
        var url = $"http://127.0.0.1:{Ports.Free()}";
        var silo = StartSilo(url);
        SiloProcess? next = null;
        try
        {
            await silo.WaitHealthyAsync();
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
            var answered = new ConcurrentDictionary<long, HttpStatusCode>();
            var sent = new ConcurrentBag<long>();
            var iid = 0L;
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var n = Interlocked.Increment(ref iid);
                    sent.Add(n);
                    try
                    {
                        using var response = await http.SendAsync(Delivery(n));
                        answered[n] = response.StatusCode;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        // The process died under this request: no answer, so GitLab would deliver it again.
                    }
                }
            })).ToList();

            await Eventually.True(() => Task.FromResult(answered.Count >= 300), "300 deliveries answered", TimeSpan.FromSeconds(60));
            await silo.KillAsync(); // SIGKILL: no shutdown, no flush
            await stop.CancelAsync();
            await Task.WhenAll(load);

            var accepted = answered.Where(a => (int)a.Value is >= 200 and < 300).Select(a => a.Key).ToHashSet();
            Assert.True(accepted.Count >= 300, $"only {accepted.Count} answered 2xx");
            Assert.All(answered.Values, s => Assert.Equal(HttpStatusCode.Accepted, s));
            var applied = await AppliedAsync();
            Assert.All(accepted, n => Assert.Equal(1, applied.GetValueOrDefault(n)));
            Assert.All(applied.Values, c => Assert.Equal(1, c));
            output.WriteLine($"sent {sent.Count}, answered 2xx {accepted.Count}, applied {applied.Count} (in flight at the kill: {sent.Count - answered.Count})");

            // The next process: every key again, as GitLab would redeliver them.
            next = StartSilo(url);
            await next.WaitHealthyAsync();
            var replayed = new ConcurrentDictionary<long, HttpStatusCode>();
            await Parallel.ForEachAsync(sent, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, ct) =>
            {
                using var response = await http.SendAsync(Delivery(n), ct);
                replayed[n] = response.StatusCode;
            });

            var after = await AppliedAsync();
            // Applied before: a duplicate now (200), nothing recorded. Lost in flight: applied now, once.
            Assert.All(applied.Keys, n => Assert.Equal(HttpStatusCode.OK, replayed[n]));
            Assert.All(sent.Where(n => !applied.ContainsKey(n)), n => Assert.Equal(HttpStatusCode.Accepted, replayed[n]));
            Assert.All(applied, a => Assert.Equal(1, after[a.Key]));
            Assert.All(sent, n => Assert.Equal(1, after.GetValueOrDefault(n)));
        }
        finally
        {
            silo.Kill();
            next?.Kill();
        }
    }
}
