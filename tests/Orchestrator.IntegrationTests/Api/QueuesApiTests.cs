using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Api.Rest;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Api;

/// <summary>Steering a branch's queue through the API: admins pause, resume and rush; everyone else reads.</summary>
public sealed class QueuesApiTests(SchemaFixture db) : IClassFixture<SchemaFixture>, IAsyncLifetime
{
    private OrchestratorApiFactory factory = null!;

    public Task InitializeAsync()
    {
        factory = new OrchestratorApiFactory(db.Schema);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await factory.DisposeAsync();

    [Fact]
    public async Task Given_three_waiting_mrs_When_an_admin_pauses_rushes_one_and_resumes_Then_the_queue_says_so_at_each_step()
    {
        var merge = factory.ClientWith(OrchestratorApiFactory.MergeToken);
        var admin = factory.ClientWith(OrchestratorApiFactory.AdminToken);
        // Without a GitLab the grains only record: the queue is seeded through its grain as a workflow would join it.
        var queue = factory.Services.GetRequiredService<IGrainFactory>().GetGrain<Orchestrator.Grains.IMergeQueueGrain>("44/main");
        foreach (var iid in new long[] { 1, 2, 3 }) await queue.TryAcquire(iid, DateTimeOffset.UnixEpoch.AddMinutes(iid));

        var paused = await (await admin.PostAsJsonAsync("/api/v1/projects/44/queues/main/pause", new { reason = "release 26.0 freeze" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("release 26.0 freeze", paused.GetProperty("paused").GetProperty("reason").GetString());
        Assert.False(await queue.TryAcquire(2, DateTimeOffset.UnixEpoch), "a paused queue hands the branch to no one");

        var rushed = await (await admin.PostAsJsonAsync("/api/v1/projects/44/queues/main/front", new { iid = 3 })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([1L, 3L, 2L], rushed.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("iid").GetInt64()));

        var resumed = await (await admin.PostAsync("/api/v1/projects/44/queues/main/resume", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, resumed.GetProperty("paused").ValueKind);

        await ProblemAssert.Is(await merge.PostAsJsonAsync("/api/v1/projects/44/queues/main/pause", new { reason = "mine" }), HttpStatusCode.Forbidden);
        await ProblemAssert.Is(await admin.PostAsJsonAsync("/api/v1/projects/44/queues/main/pause", new { }), HttpStatusCode.BadRequest);
        await ProblemAssert.Is(await admin.PostAsJsonAsync("/api/v1/projects/44/queues/main/front", new { iid = 99 }), HttpStatusCode.NotFound);
        // Each admin act is kept with who did it.
        await using (var session = factory.Services.GetRequiredService<Marten.IDocumentStore>().QuerySession())
        {
            var steering = (await session.LoadAsync<Orchestrator.Grains.MergeQueueDocument>("44/main"))!.Steering;
            Assert.Equal(["paused: release 26.0 freeze", "moved !3 to the front", "resumed (paused by token token2: release 26.0 freeze)"], steering.Select(x => x.What));
            Assert.All(steering, x => Assert.Equal("token token2", x.By));
        }
        var read = await factory.ClientWith(OrchestratorApiFactory.ReadToken).GetFromJsonAsync<JsonElement>("/api/v1/projects/44/queues/main");
        Assert.Equal(JsonValueKind.Null, read.GetProperty("embargoedUntil").ValueKind);
    }
}

/// <summary>With GitLab configured, a pause names a branch GitLab knows: a typo must not leave the real one running.</summary>
public sealed class QueuePauseOnGitLabTests(SchemaFixture db, SandboxFixture sandbox) : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Given_a_configured_gitlab_When_an_admin_pauses_a_branch_that_does_not_exist_Then_it_is_a_404_and_the_real_one_can_be_paused()
    {
        var seed = await sandbox.SeedIncidentAsync("pausetypo");
        var bot = seed["users"]!["bot"]!;
        await using var factory = new OrchestratorApiFactory(db.Schema, new Dictionary<string, string?>
        {
            ["Orchestrator:GitLab:BaseUrl"] = sandbox.BaseUrl,
            ["Orchestrator:GitLab:BotToken"] = bot["token"]!.GetValue<string>(),
            ["Orchestrator:GitLab:BotUsername"] = bot["username"]!.GetValue<string>(),
            ["Orchestrator:Registry:Url"] = sandbox.RegistryUrl,
        });
        var admin = factory.ClientWith(OrchestratorApiFactory.AdminToken);
        var project = seed["upstream"]!["id"]!.GetValue<long>();

        await ProblemAssert.Is(await admin.PostAsJsonAsync($"/api/v1/projects/{project}/queues/mian/pause", new { reason = "freeze" }), HttpStatusCode.NotFound);
        var paused = await admin.PostAsJsonAsync($"/api/v1/projects/{project}/queues/main/pause", new { reason = "freeze" });
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
    }
}
