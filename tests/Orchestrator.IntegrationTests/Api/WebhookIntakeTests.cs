using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.IntegrationTests.Api.Webhooks;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Xunit;

namespace Orchestrator.IntegrationTests.Api;

/// <summary>GitLab's documented webhook payloads, delivered as GitLab delivers them, reach the right grain — once.</summary>
public sealed class WebhookIntakeTests(SchemaFixture db) : IClassFixture<SchemaFixture>, IAsyncLifetime
{
    private OrchestratorApiFactory factory = null!;

    public Task InitializeAsync()
    {
        factory = new OrchestratorApiFactory(db.Schema);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await factory.DisposeAsync();

    // The documented merge request event names two projects; GitLab's own deliveries name one (see WebhookFixtures).
    private static string Fixture(string name) => WebhookFixtures.Consistent(name).ToJsonString();

    private async Task<HttpResponseMessage> Deliver(string eventName, string body, string? token = OrchestratorApiFactory.WebhookSecret,
        string? idempotencyKey = null)
    {
        using var request = WebhookFixtures.Delivery(eventName, body, token, idempotencyKey);
        return await factory.CreateClient().SendAsync(request);
    }

    private static async Task<string> Outcome(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString()!;
    }

    private IMergeRequestGrain Grain(long project, long iid) =>
        factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IMergeRequestGrain>(new MergeRequestKey(project, iid).ToString());

    [Fact]
    public async Task Given_the_documented_merge_request_event_When_opened_with_the_bot_assigned_Then_it_is_enqueued_for_its_author()
    {
        Assert.Equal("enqueued 14/1", await Outcome(await Deliver("Merge Request Hook", Fixture("merge_request.open.json"))));
        var s = (await Grain(14, 1).GetSnapshot()).Workflow;
        // The hook's user (root, 1) opened it for its author (51), whose name the hook does not give.
        Assert.Equal((WorkflowState.Queued, new Requester(TriggerKind.Assignment, null, 51)), (s.State, s.Requester));
    }

    [Fact]
    public async Task Given_the_documented_pipeline_event_When_a_merge_request_waits_on_that_pipeline_Then_its_status_is_recorded()
    {
        var key = new MergeRequestKey(1, 77);
        var t = DateTimeOffset.UtcNow;
        var journal = factory.Services.GetRequiredService<WorkflowJournal>();
        await journal.AppendAsync(key, 0, [
            new MergeRequested(1, "marge", t), new RebaseStarted(1, 1, "queue granted the target branch", t),
            new Rebased(1, "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "aaaa", t), new FreshnessChecked(1, "bcbb5ec396a2c0f828686f14fac9b80b780504f2", [], false, t),
            new PipelineCreated(1, 31, "bcbb5ec396a2c0f828686f14fac9b80b780504f2", false, t)]);
        await factory.Services.GetRequiredService<PipelineWatches>().WatchAsync(1, 31, key);

        Assert.Equal("recorded for 1/77", await Outcome(await Deliver("Pipeline Hook", Fixture("pipeline.json"))));
        var s = (await Grain(1, 77).GetSnapshot()).Workflow;
        Assert.Equal((WorkflowState.Verifying, "success"), (s.State, s.PipelineStatus));

        // The same status again, or an older one arriving late, changes nothing.
        var late = JsonNode.Parse(Fixture("pipeline.json"))!;
        late["object_attributes"]!["status"] = "running";
        Assert.Equal("nothing new for 1/77", await Outcome(await Deliver("Pipeline Hook", late.ToJsonString())));
        Assert.Equal(6, (await Grain(1, 77).GetSnapshot()).Version);
    }

    [Fact]
    public async Task Given_the_documented_job_push_and_note_events_When_delivered_Then_each_reaches_its_grain_or_is_acknowledged()
    {
        await factory.Services.GetRequiredService<PipelineWatches>().WatchAsync(380, 2366, new MergeRequestKey(380, 5));
        Assert.Equal("poked 380/5", await Outcome(await Deliver("Job Hook", Fixture("job.json"))));

        Assert.Equal("ignored: no merge request holds that branch", await Outcome(await Deliver("Push Hook", Fixture("push.json"))));
        await factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IMergeQueueGrain>("15/master").TryAcquire(9, DateTimeOffset.UtcNow);
        Assert.Equal("poked !9", await Outcome(await Deliver("Push Hook", Fixture("push.json"))));

        var note = Fixture("note.merge_request.json");
        Assert.Equal("ignored: no merge command", await Outcome(await Deliver("Note Hook", note, OrchestratorApiFactory.Project5Secret)));
        var command = JsonNode.Parse(note)!;
        command["object_attributes"]!["note"] = "/merge";
        Assert.Equal("ignored: this project takes no merge commands by note", await Outcome(await Deliver("Note Hook", command.ToJsonString(), OrchestratorApiFactory.Project5Secret)));
        await factory.Services.GetRequiredService<PolicyStore>().SaveAsync(5, new ProjectPolicy(AllowedCommanders: ["root"]));
        Assert.Equal("enqueued 5/1", await Outcome(await Deliver("Note Hook", command.ToJsonString(), OrchestratorApiFactory.Project5Secret)));

        Assert.StartsWith("ignored", await Outcome(await Deliver("Tag Push Hook", Fixture("tag_push.json"))));
    }

    [Fact]
    public async Task Given_a_delivery_this_process_answered_When_it_comes_again_Then_it_is_a_duplicate_before_any_routing_or_commit()
    {
        var payload = JsonNode.Parse(Fixture("merge_request.open.json"))!;
        payload["object_attributes"]!["iid"] = 3;
        var key = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.Accepted, (await Deliver("Merge Request Hook", payload.ToJsonString(), idempotencyKey: key)).StatusCode);
        var journal = factory.Services.GetRequiredService<WorkflowJournal>();
        var before = journal.Commits.Writes;

        var again = await Deliver("Merge Request Hook", payload.ToJsonString(), idempotencyKey: key);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean());
        Assert.Equal(before, journal.Commits.Writes);
        // Checked like any delivery first: the same key under a wrong token is refused, not answered as a duplicate.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Deliver("Merge Request Hook", payload.ToJsonString(), "wrong", key)).StatusCode);
        // And scoped to its signer: another project's delivery with the same key is its own.
        var other = JsonNode.Parse(Fixture("merge_request.open.json"))!;
        other["object_attributes"]!["iid"] = 3;
        other["project"]!["id"] = 5;
        other["object_attributes"]!["target_project_id"] = 5;
        other["object_attributes"]!["source_project_id"] = 5;
        Assert.Equal(HttpStatusCode.Accepted,
            (await Deliver("Merge Request Hook", other.ToJsonString(), OrchestratorApiFactory.Project5Secret, key)).StatusCode);
    }

    [Fact]
    public async Task Given_a_redelivery_When_it_carries_the_same_idempotency_key_Then_it_is_acknowledged_as_a_duplicate_and_applied_once()
    {
        var payload = JsonNode.Parse(Fixture("merge_request.open.json"))!;
        payload["object_attributes"]!["iid"] = 2;
        var key = Guid.NewGuid().ToString();
        var first = await Deliver("Merge Request Hook", payload.ToJsonString(), idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await Grain(14, 2).Cancel("someone", "changed their mind");

        var again = await Deliver("Merge Request Hook", payload.ToJsonString(), idempotencyKey: key);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean());
        Assert.Equal(WorkflowState.Cancelled, (await Grain(14, 2).GetSnapshot()).Workflow.State);

        // Durable: a new process on the same database still knows the delivery.
        await using var restarted = new OrchestratorApiFactory(db.Schema);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/gitlab") { Content = new StringContent(payload.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Gitlab-Event", "Merge Request Hook");
        request.Headers.Add("X-Gitlab-Token", OrchestratorApiFactory.WebhookSecret);
        request.Headers.Add("Idempotency-Key", key);
        var third = await restarted.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(2, (await Grain(14, 2).GetSnapshot()).Version);
    }

    [Theory]
    [InlineData("Merge Request Hook", "{\"object_kind\": ", "application/json", OrchestratorApiFactory.WebhookSecret, HttpStatusCode.BadRequest)]
    [InlineData("Merge Request Hook", "object_kind=merge_request", "application/x-www-form-urlencoded", OrchestratorApiFactory.WebhookSecret, HttpStatusCode.UnsupportedMediaType)]
    [InlineData("Merge Request Hook", "FIXTURE", "application/json", null, HttpStatusCode.Unauthorized)]
    [InlineData("Merge Request Hook", "FIXTURE", "application/json", "wrong-secret", HttpStatusCode.Unauthorized)]
    [InlineData("Note Hook", "NOTE", "application/json", OrchestratorApiFactory.WebhookSecret, HttpStatusCode.Unauthorized)]
    [InlineData("Merge Request Hook", "UNKNOWN", "application/json", OrchestratorApiFactory.WebhookSecret, HttpStatusCode.Unauthorized)]
    [InlineData("Merge Request Hook", "HUGE", "application/json", OrchestratorApiFactory.WebhookSecret, HttpStatusCode.RequestEntityTooLarge)]
    [InlineData("", "FIXTURE", "application/json", OrchestratorApiFactory.WebhookSecret, HttpStatusCode.BadRequest)]
    public async Task Given_bad_deliveries_When_received_Then_a_problem_and_nothing_recorded(
        string eventName, string body, string contentType, string? token, HttpStatusCode expected)
    {
        var payload = body switch
        {
            "FIXTURE" => Fixture("merge_request.open.json"),
            "NOTE" => Fixture("note.merge_request.json"),
            "UNKNOWN" => Unconfigured(),
            "HUGE" => "{\"padding\": \"" + new string('x', 100_000) + "\"}",
            _ => body,
        };
        static string Unconfigured()
        {
            var mr = WebhookFixtures.Consistent("merge_request.open.json");
            mr["project"]!["id"] = 999;
            mr["object_attributes"]!["target_project_id"] = 999;
            return mr.ToJsonString();
        }
        var events = await db.CountEventsAsync();
        var deliveries = await factory.Services.GetRequiredService<WebhookDeliveries>().CountAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/gitlab") { Content = new StringContent(payload, Encoding.UTF8, contentType) };
        if (eventName.Length > 0) request.Headers.Add("X-Gitlab-Event", eventName);
        if (token is not null) request.Headers.Add("X-Gitlab-Token", token);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        var response = await factory.CreateClient().SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(events, await db.CountEventsAsync());
        Assert.Equal(deliveries, await factory.Services.GetRequiredService<WebhookDeliveries>().CountAsync());
    }
}
