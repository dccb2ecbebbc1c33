using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Bench;

/// <summary>
/// The ceiling for webhook intake: a bare ASP.NET Core endpoint that does only the unavoidable part of the
/// orchestrator's intake — the token checked in constant time, the same payload parsed, the delivery's key
/// remembered in memory — so the orchestrator's figure can be read against what the framework itself allows.
/// </summary>
public static class Ceiling
{
    public static async Task RunAsync(int port, string secret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        var seen = new ConcurrentDictionary<string, int>();

        app.MapPost("/webhooks/gitlab", async (HttpContext http) =>
        {
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(http.Request.Headers["X-Gitlab-Token"].ToString()));
            if (!CryptographicOperations.FixedTimeEquals(presented, expected)) return Results.Unauthorized();
            using var payload = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            if (!payload.RootElement.TryGetProperty("object_kind", out _)) return Results.BadRequest();
            var key = http.Request.Headers["Idempotency-Key"].ToString();
            return seen.AddOrUpdate(key, 1, (_, n) => n + 1) == 1 ? Results.Ok() : Results.Ok("duplicate");
        });
        app.MapGet("/-/count", () => Results.Json(new { distinct = seen.Count, received = seen.Values.Sum(), doubled = seen.Values.Count(n => n > 1) }));
        app.MapGet("/healthz", () => Results.Ok());
        await app.RunAsync();
    }
}
