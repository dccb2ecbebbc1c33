using System.Text;
using System.Threading.Channels;
using Sandbox.Model;

namespace Sandbox.Hooks;

/// <summary>
/// Sends webhooks from a queue after the triggering request has answered, with GitLab's headers. A failed
/// delivery is retried with backoff (same Idempotency-Key); 4 consecutive failures disable the hook, for good
/// after a 4xx, for a growing while after 5xx or timeouts — as GitLab does. Fault switches can drop,
/// duplicate, delay and reorder deliveries. Each hook has its own lane, so hooks are served side by side as
/// GitLab's Sidekiq workers serve them, and one slow receiver does not hold back every other project's hooks
/// (seen in the benchmark: with one lane for all, 20 busy projects waited seconds for their events).
/// </summary>
public sealed class WebhookDispatcher(SandboxStore store, Faults faults, IHttpClientFactory httpFactory, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    public const string Version = "17.9.0-sandbox";
    private readonly Channel<Delivery> queue = Channel.CreateUnbounded<Delivery>();
    private readonly Dictionary<long, Channel<Delivery>> lanes = [];

    public SnapshotList<ProjectHook> Hooks { get; } = [];

    /// <summary>Every delivery attempt, for tests and the fault reports: hook, event, status, idempotency key.</summary>
    public List<(long HookId, string Event, int Status, string IdempotencyKey)> Log { get; } = [];

    public TimeSpan RetryBase { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Under the project's lock: queues the event for every hook of the project that wants it.</summary>
    public void Enqueue(long projectId, string eventName, string body)
    {
        foreach (var hook in Hooks.Where(h => h.ProjectId == projectId && h.Wants(eventName)))
            queue.Writer.TryWrite(new Delivery(hook, eventName, body, Guid.NewGuid().ToString(), Guid.NewGuid().ToString()));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var batch = new List<Delivery> { await queue.Reader.ReadAsync(stoppingToken) };
            // Reordering holds deliveries until the batch is full, or until nothing more came for 2 s.
            var size = faults.ReorderBatch;
            while (size > 1 && batch.Count < size)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                quiet.CancelAfter(TimeSpan.FromSeconds(2));
                try { batch.Add(await queue.Reader.ReadAsync(quiet.Token)); }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested) { break; }
            }
            if (size > 1) batch.Reverse();
            foreach (var d in batch) Lane(d.Hook.Id, stoppingToken).Writer.TryWrite(d);
        }
    }

    // One consumer per hook, in order within the hook: a hook's failure count is only ever touched by its lane.
    private Channel<Delivery> Lane(long hookId, CancellationToken stoppingToken)
    {
        if (lanes.TryGetValue(hookId, out var lane)) return lane;
        lane = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
        lanes[hookId] = lane;
        // Ends with the service: its reader stops when stoppingToken is cancelled.
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var d in lane.Reader.ReadAllAsync(stoppingToken)) await SendAsync(d, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }, stoppingToken);
        return lane;
    }

    private async Task SendAsync(Delivery delivery, CancellationToken ct)
    {
        var hook = delivery.Hook;
        if (hook.PermanentlyDisabled || (hook.DisabledUntil is { } until && until > store.Now)) return;
        if (faults.DeliveryDelay > TimeSpan.Zero) await Task.Delay(faults.DeliveryDelay, ct);
        if (faults.TakeDrop())
        {
            lock (Log) Log.Add((hook.Id, delivery.EventName, -1, delivery.IdempotencyKey));
            return;
        }
        var copies = faults.TakeDuplicate() ? 2 : 1;
        for (var copy = 0; copy < copies; copy++)
        {
            var status = await PostAsync(delivery, ct);
            lock (Log) Log.Add((hook.Id, delivery.EventName, status, delivery.IdempotencyKey));
            if (copy > 0) continue;
            if (status is >= 200 and < 300)
            {
                hook.RecentFailures = 0;
                hook.DisabledUntil = null;
                continue;
            }
            hook.RecentFailures++;
            if (hook.RecentFailures >= 4)
            {
                if (status is >= 400 and < 500) hook.PermanentlyDisabled = true;
                else hook.DisabledUntil = store.Now + TimeSpan.FromMinutes(Math.Min(1440, Math.Pow(2, hook.RecentFailures - 4)));
                logger.LogWarning("hook {Hook} disabled after {Failures} failures", hook.Id, hook.RecentFailures);
                continue;
            }
            if (delivery.Attempt < 3)
            {
                var retry = delivery with { Attempt = delivery.Attempt + 1 };
                _ = Task.Run(async () =>
                {
                    await Task.Delay(RetryBase * Math.Pow(2, delivery.Attempt), ct);
                    queue.Writer.TryWrite(retry);
                }, ct);
            }
        }
    }

    private async Task<int> PostAsync(Delivery d, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, d.Hook.Url)
        {
            Content = new StringContent(d.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("User-Agent", $"GitLab/{Version}");
        request.Headers.TryAddWithoutValidation("X-Gitlab-Event", d.EventName);
        request.Headers.TryAddWithoutValidation("X-Gitlab-Webhook-UUID", d.Hook.Uuid);
        request.Headers.TryAddWithoutValidation("X-Gitlab-Event-UUID", d.EventUuid);
        request.Headers.TryAddWithoutValidation("X-Gitlab-Instance", store.ExternalUrl.TrimEnd('/'));
        request.Headers.TryAddWithoutValidation("Idempotency-Key", d.IdempotencyKey);
        if (!string.IsNullOrEmpty(d.Hook.Token)) request.Headers.TryAddWithoutValidation("X-Gitlab-Token", d.Hook.Token);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await httpFactory.CreateClient("webhooks").SendAsync(request, timeout.Token);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }
    }
}
