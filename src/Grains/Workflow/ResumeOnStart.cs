using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Persistence;

namespace Orchestrator.Workflow;

/// <summary>
/// A restarted silo would leave every active workflow idle until its reminder fires, up to a reminder period later.
/// Once the silo is active, each active workflow in the index is poked, oldest first, at <c>Workflow:ResumeRate</c>
/// per second with jitter, so thousands do not call GitLab at once. Startup never waits for it or fails by it: a slow
/// or absent PostgreSQL gets a few tries, then a warning, and the reminders remain the fallback.
/// </summary>
public sealed class ResumeOnStart(MergeRequestIndex index, IGrainFactory grains, IOptions<OrchestratorOptions> options,
    ILogger<ResumeOnStart> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan[] IndexRetries = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];
    private readonly CancellationTokenSource stopping = new();
    private Task run = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ResumeOnStart), ServiceLifecycleStage.Active, OnStart, OnStop);

    private Task OnStart(CancellationToken _)
    {
        run = Task.Run(() => WakeAllAsync(stopping.Token));
        return Task.CompletedTask;
    }

    private async Task OnStop(CancellationToken ct)
    {
        await stopping.CancelAsync();
        await run.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Pokes every active workflow at the configured rate; answers how many it woke.</summary>
    public async Task<int> WakeAllAsync(CancellationToken ct)
    {
        var rate = options.Value.Workflow.ResumeRate;
        // Without GitLab a grain only records requests: there is nothing to resume.
        if (string.IsNullOrEmpty(options.Value.GitLab.BaseUrl) || rate <= 0) return 0;
        try
        {
            if (await ActiveAsync(ct) is not { } keys) return 0;
            var woken = 0;
            Exception? firstFailure = null;
            for (var i = 0; i < keys.Count; i++)
            {
                if (i > 0) await Task.Delay(Jittered(rate), ct);
                try
                {
                    await grains.GetGrain<IMergeRequestGrain>(keys[i].ToString()).Poke();
                    woken++;
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    firstFailure ??= e;
                }
            }
            if (firstFailure is not null)
                logger.LogWarning(firstFailure, "Woke {Woken} of {Active} active workflow(s) at start; the others resume at their reminder", woken, keys.Count);
            else
                logger.LogInformation("Woke {Woken} active workflow(s) at start", woken);
            return woken;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
    }

    private async Task<IReadOnlyList<MergeRequestKey>?> ActiveAsync(CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await index.ActiveAsync(ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && attempt < IndexRetries.Length)
            {
                logger.LogInformation("Active workflows unreadable at start ({Error}); trying again in {Delay}", e.GetType().Name, IndexRetries[attempt]);
                await Task.Delay(IndexRetries[attempt], ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "Active workflows unreadable at start; they resume at their reminder instead");
                return null;
            }
        }
    }

    /// <summary>One wake-up's share of a second, between half and one and a half of it, so the rate holds on average.</summary>
    private static TimeSpan Jittered(double perSecond) => TimeSpan.FromSeconds((0.5 + Random.Shared.NextDouble()) / perSecond);
}
