namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Waits for a condition that asynchronous work will make true, instead of sleeping a guessed time.</summary>
public static class Eventually
{
    public static async Task True(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout ?? TimeSpan.FromSeconds(30)} for {what}");
            await Task.Delay(100);
        }
    }
}
