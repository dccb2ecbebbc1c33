using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven over the DevTools protocol on one page: navigate, evaluate, click with real
/// mouse events, screenshot. Script errors the page throws are collected so a test can insist there were none.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private readonly Process process;
    private readonly string profile;
    private readonly ClientWebSocket socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> pending = new();
    private readonly CancellationTokenSource stop = new();
    private int nextId;
    private Task? receiving;

    public ConcurrentQueue<string> PageErrors { get; } = new();

    private HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync(int width = 1280, int height = 1000)
    {
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"{Executable} is missing: ./test.sh installs Debian's chromium package");
        var profile = Directory.CreateTempSubdirectory("orchestrator-chromium-").FullName;
        // As the probe of this machine found: without the background-networking switches Chromium keeps dialling
        // Google's hosts, which this closed network refuses.
        var psi = new ProcessStartInfo(Executable,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
            $"--window-size={width},{height}", $"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
        ])
        { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        var process = Process.Start(psi)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.ConnectAsync();
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Runtime.enable");
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task ConnectAsync()
    {
        // Chromium writes the port it chose to DevToolsActivePort in the profile once it listens.
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var lines = await Eventually.Get(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"chromium exited with {process.ExitCode} before listening");
            return File.Exists(portFile) ? (await File.ReadAllTextAsync(portFile)).Split('\n') : [];
        }, l => l.Length >= 2, "chromium to open its DevTools port", every: TimeSpan.FromMilliseconds(50));
        var port = int.Parse(lines[0].Trim());
        using var http = new HttpClient();
        var targets = await http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{port}/json/list");
        var page = targets!.First(t => t!["type"]!.GetValue<string>() == "page")!;
        await socket.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None);
        receiving = Task.Run(ReceiveLoop);
    }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var node = JsonNode.Parse(message.ToArray())!;
                message.SetLength(0);
                if (node["id"] is { } id && pending.TryRemove(id.GetValue<int>(), out var waiter)) waiter.TrySetResult(node);
                else if (node["method"]?.GetValue<string>() == "Runtime.exceptionThrown")
                    PageErrors.Enqueue(node["params"]!["exceptionDetails"]!.ToJsonString());
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
        }
        foreach (var waiter in pending.Values) waiter.TrySetException(new InvalidOperationException("the DevTools connection closed"));
    }

    public async Task<JsonNode> SendAsync(string method, object? parameters = null, TimeSpan? timeout = null)
    {
        var id = Interlocked.Increment(ref nextId);
        var waiter = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[id] = waiter;
        var payload = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await socket.SendAsync(payload, WebSocketMessageType.Text, true, CancellationToken.None);
        var answer = await waiter.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        if (answer["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        return answer["result"]!;
    }

    public async Task NavigateAsync(string url)
    {
        await SendAsync("Page.navigate", new { url });
        await WaitForAsync("document.readyState === 'complete'");
    }

    /// <summary>Evaluates a JavaScript expression in the page (awaiting promises) and returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result["exceptionDetails"] is { } details) throw new InvalidOperationException($"{expression}: {details.ToJsonString()}");
        return result["result"]!["value"];
    }

    public async Task<T> EvaluateAsync<T>(string expression) => (await EvaluateAsync(expression))!.GetValue<T>();

    public async Task WaitForAsync(string condition, TimeSpan? timeout = null)
    {
        try
        {
            await Eventually.True(async () => await EvaluateAsync($"Boolean({condition})") is JsonValue v && v.GetValue<bool>(),
                $"the page to satisfy {condition}", timeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await EvaluateAsync("document.body ? document.body.innerText : ''")}", e);
        }
    }

    /// <summary>Clicks the middle of the first element matching <paramref name="selector"/> with real mouse events.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($$"""
            (() => { const e = document.querySelector({{JsonSerializer.Serialize(selector)}}); if (!e) return null;
                     e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
                     return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()
            """) ?? throw new InvalidOperationException($"nothing matches {selector}");
        var (x, y) = (box["x"]!.GetValue<double>(), box["y"]!.GetValue<double>());
        foreach (var type in new[] { "mousePressed", "mouseReleased" })
            await SendAsync("Input.dispatchMouseEvent", new { type, x, y, button = "left", clickCount = 1 });
    }

    public async Task TypeAsync(string selector, string text)
    {
        await EvaluateAsync($"document.querySelector({JsonSerializer.Serialize(selector)}).focus()");
        await SendAsync("Input.insertText", new { text });
    }

    /// <summary>A PNG of the whole page (not just the window), written to <paramref name="path"/>.</summary>
    public async Task<byte[]> ScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true });
        var png = Convert.FromBase64String(result["data"]!.GetValue<string>());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, png);
        return png;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            if (receiving is not null) await receiving;
        }
        catch (Exception)
        {
        }
        socket.Dispose();
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
