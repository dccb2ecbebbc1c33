using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Orchestrator.Api.Http;
using Orchestrator.Hosting;
using Orchestrator.Persistence;

namespace Orchestrator.Api.Webhooks;

public sealed record WebhookAnswer(bool Accepted, bool Duplicate, string Outcome);

public static class WebhookApi
{
    public static IEndpointRouteBuilder MapWebhookApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/gitlab", Receive).WithName("GitLabWebhook").WithTags("Webhooks");
        return app;
    }

    /// <summary>
    /// GitLab's webhooks. Answers within milliseconds (GitLab disables slow or failing hooks), never a 4xx for a
    /// duplicate, and checks <c>X-Gitlab-Token</c> in constant time against the secret of the project the payload is about.
    /// </summary>
    private static async Task<Results<Ok<WebhookAnswer>, Accepted<WebhookAnswer>, ProblemHttpResult>> Receive(
        HttpRequest request, WebhookRouter router, WebhookDeliveries deliveries, IOptionsMonitor<OrchestratorOptions> options, CancellationToken ct)
    {
        var eventName = request.Headers["X-Gitlab-Event"].FirstOrDefault();
        if (string.IsNullOrEmpty(eventName)) return Problems.BadRequest("Not a GitLab webhook", "the X-Gitlab-Event header is missing");
        if (!request.HasJsonContentType())
            return Problems.Make(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "GitLab sends application/json");
        JsonNode? payload;
        try
        {
            payload = await JsonNode.ParseAsync(request.Body, cancellationToken: ct);
        }
        catch (JsonException e)
        {
            return Problems.BadRequest("Malformed JSON", e.Message);
        }
        if (ProjectOf(payload) is not { } project) return Problems.BadRequest("No project", "the payload names no project");
        var hooks = options.CurrentValue.Webhooks;
        var secret = hooks.Projects.TryGetValue(project.ToString(), out var own) ? own.Secret : hooks.DefaultSecret;
        if (string.IsNullOrEmpty(secret)) return Problems.NotFound($"project {project} is not configured for webhooks");
        if (!SameSecret(request.Headers["X-Gitlab-Token"].FirstOrDefault(), secret))
            return Problems.Make(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", "X-Gitlab-Token does not match this project's secret");

        // Idempotency-Key is stable across GitLab's retries of one delivery; the event UUID is the older fallback.
        var key = request.Headers["Idempotency-Key"].FirstOrDefault() ?? request.Headers["X-Gitlab-Event-UUID"].FirstOrDefault();
        if (key is not null && await deliveries.SeenAsync(key, ct))
        {
            Telemetry.OrchestratorTelemetry.WebhookDeliveries.Add(1, new("event", eventName), new("result", "duplicate"));
            return TypedResults.Ok(new WebhookAnswer(true, true, "already applied"));
        }
        // Applied first, recorded after: a crash in between means GitLab redelivers and the grain, whose commands
        // are idempotent, decides nothing new — rather than a delivery recorded but never applied.
        var outcome = await router.RouteAsync(eventName, project, payload!, ct);
        Telemetry.OrchestratorTelemetry.WebhookDeliveries.Add(1, new("event", eventName), new("result", outcome.StartsWith("ignored") ? "ignored" : "applied"));
        // Not the request's token: once applied, the record must land even if GitLab hangs up now.
        if (key is not null) await deliveries.RecordAsync(key, eventName, project, CancellationToken.None);
        return TypedResults.Accepted((string?)null, new WebhookAnswer(true, false, outcome));
    }

    private static long? ProjectOf(JsonNode? payload) =>
        payload?["project"]?["id"]?.GetValue<long>() ?? payload?["project_id"]?.GetValue<long>();

    private static bool SameSecret(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
