using System.Collections.Concurrent;

namespace Orchestrator.IntegrationTests.Grains;

[Alias("IReminderProbeGrain")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    [Alias("Arm")]
    Task Arm(TimeSpan due, TimeSpan period);

    [Alias("Disarm")]
    Task Disarm();
}

/// <summary>Counts reminder ticks per silo process, so a test can tell which cluster woke it.</summary>
public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    public static readonly ConcurrentDictionary<string, int> Ticks = new();

    public async Task Arm(TimeSpan due, TimeSpan period) => await this.RegisterOrUpdateReminder("probe", due, period);

    public async Task Disarm()
    {
        if (await this.GetReminder("probe") is { } reminder)
            await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
