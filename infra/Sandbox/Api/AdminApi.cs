using System.Text.Json.Nodes;
using Sandbox.Hooks;
using Sandbox.Http;

namespace Sandbox.Api;

/// <summary>The sandbox's own admin endpoints (not GitLab's): fault switches and delivery records, admin token only.</summary>
public static class AdminApi
{
    public static void MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/-/sandbox/faults", async (HttpContext context, Model.SandboxStore store, Faults faults) =>
        {
            if (!Caller.Authenticate(context, store).IsAdmin) throw GitLabError.Forbidden();
            return Results.Json(new { armed_routes = faults.ArmedRoutes });
        });

        app.MapMethods("/-/sandbox/faults", ["PUT"], async (HttpContext context, Model.SandboxStore store, Faults faults) =>
        {
            if (!Caller.Authenticate(context, store).IsAdmin) throw GitLabError.Forbidden();
            var p = await RequestParams.ReadAsync(context.Request);
            faults.Reset();
            faults.Latency = TimeSpan.FromMilliseconds(p.Long("latency_ms") ?? 0);
            faults.Stall = TimeSpan.FromMilliseconds(p.Long("stall_ms") ?? 0);
            faults.DropDeliveries = (int)(p.Long("drop_deliveries") ?? 0);
            faults.DuplicateDeliveries = (int)(p.Long("duplicate_deliveries") ?? 0);
            faults.DeliveryDelay = TimeSpan.FromMilliseconds(p.Long("delivery_delay_ms") ?? 0);
            faults.ReorderBatch = (int)(p.Long("reorder_batch") ?? 0);
            foreach (var route in p.Array("routes") ?? [])
            {
                if (route is not JsonObject o) throw GitLabError.Invalid("routes");
                faults.Routes.Add(new RouteFault(o["method"]?.GetValue<string>() ?? "*", o["path"]?.GetValue<string>() ?? throw GitLabError.Missing("routes[path]"),
                    o["status"]?.GetValue<int>() ?? (o["delay_ms"] is null && o["hold_ms"] is null && o["held"] is null ? 503 : 0), o["retry_after"]?.GetValue<int>(),
                    o["count"]?.GetValue<int>() ?? 1, o["delay_ms"]?.GetValue<int>() ?? 0, o["hold_ms"]?.GetValue<int>() ?? 0, o["held"]?.GetValue<bool>() ?? false));
            }
            return Results.NoContent();
        });

        app.MapPost("/-/sandbox/faults/release", (HttpContext context, Model.SandboxStore store, Faults faults) =>
        {
            if (!Caller.Authenticate(context, store).IsAdmin) throw GitLabError.Forbidden();
            faults.Release();
            return Results.NoContent();
        });

        // Seeds the incident through the sandbox's own REST API; answers with the ids, users and tokens it made.
        app.MapPost("/-/sandbox/seed/incident", async (HttpContext context, Model.SandboxStore store) =>
        {
            if (!Caller.Authenticate(context, store).IsAdmin) throw GitLabError.Forbidden();
            var tag = context.Request.Query["suffix"].FirstOrDefault() ?? "";
            using var http = new HttpClient { BaseAddress = new Uri($"{store.ExternalUrl.TrimEnd('/')}/api/v4/") };
            var summary = await new Seed.IncidentSeeder(http, store.AdminToken).SeedAsync(tag);
            return GitLabEndpoint.Json(summary, 201);
        });

        // The demo's second act: alice pushes her fix for A (through the API, as alice).
        app.MapPost("/-/sandbox/seed/incident/fix", async (HttpContext context, Model.SandboxStore store) =>
        {
            if (!Caller.Authenticate(context, store).IsAdmin) throw GitLabError.Forbidden();
            var alice = store.Users.Values.FirstOrDefault(u => u.Username == "alice" + (context.Request.Query["suffix"].FirstOrDefault() ?? ""))
                ?? throw GitLabError.NotFound("User");
            var token = store.AddToken(alice.Id, "demo", ["api"]);
            var fork = store.Projects.Values.First(p => p.NamespacePath == alice.Username && p.ForkedFromId is not null).Id;
            using var http = new HttpClient { BaseAddress = new Uri($"{store.ExternalUrl.TrimEnd('/')}/api/v4/") };
            var sha = await new Seed.IncidentSeeder(http, store.AdminToken).FixAAsync(token.Value, fork);
            return GitLabEndpoint.Json(new JsonObject { ["sha"] = sha }, 201);
        });

        app.MapGet("/-/sandbox/deliveries", async (HttpContext context, Model.SandboxStore store, WebhookDispatcher dispatcher) =>
        {
            if (!Caller.Authenticate(context, store).IsAdmin) throw GitLabError.Forbidden();
            JsonArray list;
            lock (dispatcher.Log)
                list = new JsonArray([.. dispatcher.Log.Select(d => (JsonNode?)new JsonObject
                {
                    ["hook_id"] = d.HookId, ["event"] = d.Event, ["status"] = d.Status, ["idempotency_key"] = d.IdempotencyKey,
                })]);
            return GitLabEndpoint.Json(list);
        });
    }

    /// <summary>Added latency, stalls, and 5xx/429 storms on chosen routes, before any endpoint runs.</summary>
    public static IApplicationBuilder UseFaults(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var faults = context.RequestServices.GetRequiredService<Faults>();
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/-/sandbox/")) { await next(context); return; }
        if (faults.Stall > TimeSpan.Zero) await Task.Delay(faults.Stall, context.RequestAborted);
        if (faults.Latency > TimeSpan.Zero) await Task.Delay(faults.Latency, context.RequestAborted);
        if (faults.Take(context.Request.Method, path) is { } fault)
        {
            if (fault.DelayMs > 0) await Task.Delay(fault.DelayMs, context.RequestAborted);
            // A held call is let go by the test, or after a minute so a failed test never leaves a caller hanging.
            if (fault.Held) await faults.Released.WaitAsync(TimeSpan.FromMinutes(1), context.RequestAborted).ContinueWith(_ => { });
            // Like GitLab, the work is done whether or not the caller is still there; only its answer waits.
            if (fault.HoldMs > 0) context.Response.OnStarting(() => Task.Delay(fault.HoldMs));
            if (fault.Status == 0) { await next(context); return; }
            if (fault.RetryAfterSeconds is { } after) context.Response.Headers.RetryAfter = after.ToString();
            await GitLabEndpoint.Json(new JsonObject
            {
                ["message"] = fault.Status == 429 ? "Retry later" : $"{fault.Status} Internal Server Error",
            }, fault.Status).ExecuteAsync(context);
            return;
        }
        await next(context);
    });
}
