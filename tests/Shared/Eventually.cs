namespace Orchestrator.Testing;

/// <summary>
/// Waits for asynchronous work to make something true, instead of sleeping a guessed time or writing a poll loop.
/// One copy for every test project and the benchmark (linked into each), so every wait times out the same way: naming
/// what it waited for and the last thing it saw.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Reads until <paramref name="until"/> holds for what was read, and returns it. A read that throws one of the
    /// exceptions <paramref name="retryOn"/> accepts (a server still starting, a database restarting) counts as "not
    /// yet"; any other exception ends the wait at once, so a read can also fail fast on a state that can never lead on.
    /// </summary>
    public static async Task<T> Get<T>(Func<Task<T>> read, Func<T, bool> until, string what, TimeSpan? timeout = null,
        TimeSpan? every = null, Func<Exception, bool>? retryOn = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            string last;
            try
            {
                var value = await read();
                if (until(value)) return value;
                last = Describe(value);
            }
            catch (Exception e) when (retryOn?.Invoke(e) == true)
            {
                last = $"{e.GetType().Name}: {e.Message}";
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {limit} for {what}; last seen: {last}");
            await Task.Delay(every ?? DefaultInterval);
        }
    }

    public static Task True(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? every = null,
        Func<Exception, bool>? retryOn = null) =>
        Get(condition, ok => ok, what, timeout, every, retryOn);

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        string s => s,
        System.Collections.IEnumerable items and not System.Text.Json.Nodes.JsonNode => $"[{string.Join(", ", items.Cast<object?>())}]",
        _ => value.ToString() ?? "",
    };
}
