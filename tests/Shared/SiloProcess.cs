using System.Diagnostics;

namespace Orchestrator.Testing;

/// <summary>
/// The orchestrator's silo (src/Silo) as a process of its own, configured as an operator configures it: through
/// environment variables. The fault tests and the benchmark both start it here, each with its own settings, so a
/// change to how the silo is started (a new required setting, a new port) is made once.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Process process;
    private readonly Queue<string> tail = new();

    private SiloProcess(Process process, string url)
    {
        this.process = process;
        Url = url;
    }

    public string Url { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;

    /// <summary>
    /// Starts <paramref name="siloDll"/> serving <paramref name="url"/>, on cluster ports of its own unless
    /// <paramref name="environment"/> names them. Each output line goes to <paramref name="output"/> (prefixed with the
    /// process id: two silos may write to one test log), and the last ones are kept for the message of a start that fails.
    /// </summary>
    public static SiloProcess Start(string siloDll, string url, IReadOnlyDictionary<string, string> environment, Action<string>? output = null)
    {
        var psi = new ProcessStartInfo("dotnet", [siloDll])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(siloDll))!,
        };
        psi.Environment["Orchestrator__Http__Urls"] = url;
        psi.Environment["Orchestrator__Cluster__SiloPort"] = Ports.Free().ToString();
        psi.Environment["Orchestrator__Cluster__GatewayPort"] = Ports.Free().ToString();
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        var silo = new SiloProcess(Process.Start(psi)!, url);
        void Line(string? line)
        {
            if (line is null) return;
            lock (silo.tail)
            {
                silo.tail.Enqueue(line);
                if (silo.tail.Count > KeptLines) silo.tail.Dequeue();
            }
            try
            {
                output?.Invoke($"silo {silo.Pid}: {line}");
            }
            catch (InvalidOperationException)
            {
                // xunit closes a test's log when the test ends, and a silo being killed may still be writing: an
                // exception here, on the process's reader thread, would bring down the whole test run.
            }
        }
        silo.process.OutputDataReceived += (_, e) => Line(e.Data);
        silo.process.ErrorDataReceived += (_, e) => Line(e.Data);
        silo.process.BeginOutputReadLine();
        silo.process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>The silo in this test's own build output (the test projects reference src/Silo).</summary>
    public static string BuiltDll => Path.Combine(AppContext.BaseDirectory, "Orchestrator.Silo.dll");

    /// <summary>Until <c>/healthz</c> answers 2xx; a process that exits meanwhile fails the wait at once, with its last output.</summary>
    public async Task WaitHealthyAsync(TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Eventually.True(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"the silo exited with {process.ExitCode}");
                using var response = await http.GetAsync(Url + "/healthz");
                return response.IsSuccessStatusCode;
            }, $"{Url}/healthz to answer", timeout ?? TimeSpan.FromSeconds(60),
                retryOn: e => e is HttpRequestException or TaskCanceledException);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{e.Message}; its last output:\n{Output()}", e);
        }
    }

    public string Output()
    {
        lock (tail) return string.Join('\n', tail);
    }

    /// <summary>SIGKILL, as a crash would end it: nothing in flight is finished or flushed.</summary>
    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
    }

    public async Task KillAsync(TimeSpan? timeout = null)
    {
        Kill();
        await process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }
}
