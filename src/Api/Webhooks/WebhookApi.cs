using System.Diagnostics;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Orchestrator.Api.Http;
using Orchestrator.Api.Webhooks.Payloads;
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
    /// GitLab's webhooks. GitLab disables a hook after four failures in a row, for good on a 4xx, so a 4xx answers only
    /// what GitLab never sends: no or a wrong token, a payload that is not JSON or has a field of the wrong type, one
    /// that names another project than the one that signed it. Anything authentic and well-formed is a 2xx, if only
    /// "ignored". Nothing is recorded, and no grain touched, before the delivery is authenticated and fully read.
    /// </summary>
    private static async Task<Results<Ok<WebhookAnswer>, Accepted<WebhookAnswer>, ProblemHttpResult>> Receive(
        HttpRequest request, WebhookRouter router, WebhookDeliveries deliveries, IOptionsMonitor<OrchestratorOptions> options, CancellationToken ct)
    {
        var eventName = request.Headers["X-Gitlab-Event"].FirstOrDefault();
        if (string.IsNullOrEmpty(eventName)) return Refused("header", Problems.BadRequest("Not a GitLab webhook", "the X-Gitlab-Event header is missing"));
        if (!request.HasJsonContentType())
            return Refused(eventName, Problems.Make(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                "GitLab sends application/json"));
        var phase = Stopwatch.GetTimestamp();
        var limit = options.CurrentValue.Http.MaxRequestBodyBytes;
        // Disposed after the document that reads it (declared in this order), once the delivery is answered.
        using var body = await BodyLimit.ReadAllAsync(request, limit, ct);
        if (body is null) return Refused(eventName, BodyLimit.TooLarge(limit));
        using var document = Parse(body.Memory, out var malformed);
        if (document is null) return Refused(eventName, Problems.BadRequest("Malformed JSON", malformed!));

        phase = Measure("read", phase);
        var (project, unnamed) = HookPayloads.Signer(eventName, document.RootElement);
        if (project is not { } signer) return Refused(eventName, Problems.BadRequest("No project", unnamed!));
        switch (WebhookSecrets.Check(options.CurrentValue.Webhooks, signer, request.Headers["X-Gitlab-Token"].FirstOrDefault()))
        {
            case SignerVerdict.WrongToken:
                return Refused(eventName, Problems.Make(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                    $"X-Gitlab-Token does not authenticate deliveries for project {signer}"));
            case SignerVerdict.DefaultSecretNotAllowed:
                return Refused(eventName, Problems.Make(StatusCodes.Status403Forbidden, "forbidden", "Forbidden",
                    $"the default secret may not sign for project {signer}; give it a secret of its own"));
        }

        var (hook, mistyped) = HookPayloads.Read(eventName, document.RootElement);
        if (mistyped is not null) return Refused(eventName, Problems.BadRequest("Malformed payload", mistyped));
        if (hook?.ForeignReference is { } foreign)
            return Refused(eventName, Problems.Make(StatusCodes.Status403Forbidden, "foreign-project", "Names another project",
                $"signed for project {signer}, but {foreign.Path} names project {foreign.Id}; nothing was applied"));
        Measure("check", phase);
        return await ApplyOnceAsync(request, eventName, signer, hook, router, deliveries, ct);
    }

    private static async Task<Results<Ok<WebhookAnswer>, Accepted<WebhookAnswer>, ProblemHttpResult>> ApplyOnceAsync(
        HttpRequest request, string eventName, long project, WebhookEvent? hook, WebhookRouter router, WebhookDeliveries deliveries,
        CancellationToken ct)
    {
        // Idempotency-Key is stable across GitLab's retries of one delivery; the event UUID is the older fallback.
        // Scoped to the signing project: one project's key can never mark another project's delivery as seen.
        var key = (request.Headers["Idempotency-Key"].FirstOrDefault() ?? request.Headers["X-Gitlab-Event-UUID"].FirstOrDefault()) is { Length: > 0 } given
            ? $"{project}:{given}" : null;
        // A redelivery this process answered itself, fully checked like any delivery, is a duplicate without routing.
        if (key is not null && deliveries.AnsweredHere(key)) return Duplicate(eventName);
        // The key travels with the grain's command into the commit of the events it causes, and that commit refuses a
        // key already applied to the stream: recording and remembering cannot be split by a crash. A delivery that
        // caused no event is remembered after (a crash before that only lets a redelivery look again, which is harmless).
        var phase = Stopwatch.GetTimestamp();
        var routed = hook is null ? RoutedDelivery.Ignored("not an event the orchestrator follows") : await router.RouteAsync(hook, key, ct);
        phase = Measure("route", phase);
        var fresh = !routed.Duplicate && (routed.Recorded || key is null || await deliveries.RememberAsync(key, routed.Stream));
        if (!routed.Recorded && key is not null) Measure("remember", phase);
        if (key is not null) deliveries.Answered(key);
        if (!fresh) return Duplicate(eventName);
        Count(eventName, routed.Outcome.StartsWith("ignored", StringComparison.Ordinal) ? "ignored" : "applied");
        return TypedResults.Accepted((string?)null, new WebhookAnswer(true, false, routed.Outcome));
    }

    private static Ok<WebhookAnswer> Duplicate(string eventName)
    {
        Count(eventName, "duplicate");
        return TypedResults.Ok(new WebhookAnswer(true, true, "already applied"));
    }

    /// <summary>
    /// The body as a JSON document, or why not. Invalid UTF-8 is refused up front: the parser would accept it inside
    /// strings and fail only when one is read. Nesting deeper than the parser's default (64) is malformed too.
    /// </summary>
    private static JsonDocument? Parse(ReadOnlyMemory<byte> body, out string? problem)
    {
        problem = null;
        if (!Utf8.IsValid(body.Span))
        {
            problem = "the body is not valid UTF-8";
            return null;
        }
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>Records the phase that began at <paramref name="since"/>; the time the next one begins.</summary>
    private static long Measure(string name, long since)
    {
        var now = Stopwatch.GetTimestamp();
        Telemetry.OrchestratorTelemetry.WebhookPhase.Record(Stopwatch.GetElapsedTime(since, now).TotalMilliseconds, new KeyValuePair<string, object?>("phase", name));
        return now;
    }

    private static ProblemHttpResult Refused(string eventName, ProblemHttpResult problem)
    {
        Count(eventName, "refused");
        return problem;
    }

    // The header is the caller's to choose: only the kinds followed become metric tags, so it cannot grow the series.
    private static void Count(string eventName, string result) =>
        Telemetry.OrchestratorTelemetry.WebhookDeliveries.Add(1, new("event", HookPayloads.IsFollowed(eventName) ? eventName : "other"), new("result", result));
}
