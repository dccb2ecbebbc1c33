using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Sandbox.Tests.Infrastructure;

public sealed record ReceivedHook(string Event, IReadOnlyDictionary<string, string> Headers, JsonNode Body, DateTimeOffset At)
{
    // What a timed-out wait lists: the event, not every header and body.
    public override string ToString() => Event;
}

/// <summary>A real HTTP endpoint on loopback that records what the sandbox delivers; its answer can be scripted.</summary>
public sealed class HookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    public ConcurrentQueue<ReceivedHook> Received { get; } = new();
    public Func<ReceivedHook, int> Answer { get; set; } = _ => 200;
    public string Url { get; }

    private HookReceiver(WebApplication app, string url)
    {
        this.app = app;
        Url = url;
    }

    public static async Task<HookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        HookReceiver? self = null;
        app.MapPost("/hook", async (HttpContext context) =>
        {
            var body = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync())!;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var hook = new ReceivedHook(headers.GetValueOrDefault("X-Gitlab-Event", ""), headers, body, DateTimeOffset.UtcNow);
            self!.Received.Enqueue(hook);
            context.Response.StatusCode = self.Answer(hook);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new HookReceiver(app, address + "/hook");
        return self;
    }

    public async Task<ReceivedHook> WaitFor(Func<ReceivedHook, bool> match, TimeSpan? timeout = null) =>
        (await Eventually.Get(() => Task.FromResult(Received.ToArray()), all => all.Any(match), "a matching delivery",
            timeout ?? TimeSpan.FromSeconds(20), every: TimeSpan.FromMilliseconds(25))).First(match);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
