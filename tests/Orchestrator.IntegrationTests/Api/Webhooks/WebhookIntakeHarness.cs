using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.IntegrationTests.Api.Webhooks;

/// <summary>
/// A class fixture: the orchestrator on a schema of its own, with the test projects' webhook secrets
/// (<see cref="OrchestratorApiFactory"/>) plus a default secret that may sign for project <see cref="SharedProject"/>
/// only; and what it has recorded, to show a refusal recorded nothing.
/// </summary>
public sealed class WebhookIntakeHarness : IAsyncLifetime
{
    public const string SharedSecret = "default-secret-for-project-77";
    public const long SharedProject = 77;

    private readonly SchemaFixture db = new();
    private HttpClient? client;

    public WebhookIntakeHarness() => Factory = new(db.Schema, new Dictionary<string, string?>
    {
        ["Orchestrator:Webhooks:DefaultSecret"] = SharedSecret,
        ["Orchestrator:Webhooks:DefaultSecretProjects:0"] = SharedProject.ToString(),
    });

    public OrchestratorApiFactory Factory { get; }

    /// <summary>The secret the test configuration gives a fixture's project.</summary>
    public static string SecretOf(long project) => project == 5 ? OrchestratorApiFactory.Project5Secret : OrchestratorApiFactory.WebhookSecret;

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => await (client ??= Factory.CreateClient()).SendAsync(request);

    /// <summary>Events in every stream, and deliveries recorded as applied.</summary>
    public async Task<(long Events, long Deliveries)> RecordedAsync() =>
        (await db.CountEventsAsync(), await Factory.Services.GetRequiredService<WebhookDeliveries>().CountAsync());

    /// <summary>Sends the delivery, and checks it is refused with a problem naming <paramref name="detail"/>, nothing recorded.</summary>
    public async Task<JsonElement> AssertRefusedAsync(HttpRequestMessage request, HttpStatusCode status, string? detail = null)
    {
        var before = await RecordedAsync();
        var response = await SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        if (detail is not null) Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(before, await RecordedAsync());
        return problem;
    }

    public async Task<string> AssertAcceptedAsync(HttpRequestMessage request)
    {
        var response = await SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString()!;
    }

    public Task InitializeAsync() => db.InitializeAsync();

    public async Task DisposeAsync()
    {
        client?.Dispose();
        await Factory.DisposeAsync();
        await db.DisposeAsync();
    }
}
