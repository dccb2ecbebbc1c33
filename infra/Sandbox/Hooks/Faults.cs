using System.Text.RegularExpressions;

namespace Sandbox.Hooks;

/// <summary>
/// A route that misbehaves for the next <c>Count</c> matching calls: answers <c>Status</c> (5xx, or 429 with Retry-After),
/// or, with <c>Status</c> 0, is only held for <c>DelayMs</c> before it runs (a slow GitLab, for races), or runs and then
/// holds its answer for <c>HoldMs</c> (GitLab did the work; a caller that dies meanwhile never hears of it), or, with
/// <c>Held</c>, waits before it runs until the test releases it (a race staged in order, with no clock in it).
/// </summary>
public sealed record RouteFault(string Method, string PathPattern, int Status, int? RetryAfterSeconds, int Count, int DelayMs = 0, int HoldMs = 0,
    bool Held = false)
{
    public Regex Regex { get; } = new(PathPattern, RegexOptions.Compiled);
}

/// <summary>
/// The sandbox's fault switches, set through <c>PUT /-/sandbox/faults</c> (admin). Deterministic by design:
/// counts, not probabilities, so a test knows exactly which calls and deliveries misbehave.
/// </summary>
public sealed class Faults
{
    private readonly Lock gate = new();

    /// <summary>Added to every API call.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Every API call hangs this long before answering (a stalled GitLab).</summary>
    public TimeSpan Stall { get; set; }

    public List<RouteFault> Routes { get; } = [];

    private TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the test releases held calls (<c>POST /-/sandbox/faults/release</c>, or any new set of faults).</summary>
    public Task Released
    {
        get { lock (gate) return released.Task; }
    }

    /// <summary>Lets every held call run; calls held later wait for the next release.</summary>
    public void Release()
    {
        lock (gate)
        {
            released.TrySetResult();
            released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>The next N webhook deliveries are silently lost.</summary>
    public int DropDeliveries { get; set; }

    /// <summary>The next N deliveries are sent twice (same headers, as a GitLab retry would).</summary>
    public int DuplicateDeliveries { get; set; }

    /// <summary>Every delivery waits this long before it leaves.</summary>
    public TimeSpan DeliveryDelay { get; set; }

    /// <summary>Deliveries are held in batches of this size and sent in reverse order; 0 or 1 keeps the order.</summary>
    public int ReorderBatch { get; set; }

    /// <summary>How many route faults are still armed (a test waits for 0 to know a delayed call has arrived).</summary>
    public int ArmedRoutes
    {
        get { lock (gate) return Routes.Sum(r => r.Count); }
    }

    public RouteFault? Take(string method, string path)
    {
        lock (gate)
        {
            for (var i = 0; i < Routes.Count; i++)
            {
                var f = Routes[i];
                if (!(f.Method == "*" || string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)) || !f.Regex.IsMatch(path)) continue;
                if (f.Count <= 1) Routes.RemoveAt(i); else Routes[i] = f with { Count = f.Count - 1 };
                return f;
            }
            return null;
        }
    }

    public bool TakeDrop()
    {
        lock (gate)
        {
            if (DropDeliveries <= 0) return false;
            DropDeliveries--;
            return true;
        }
    }

    public bool TakeDuplicate()
    {
        lock (gate)
        {
            if (DuplicateDeliveries <= 0) return false;
            DuplicateDeliveries--;
            return true;
        }
    }

    public void Reset()
    {
        lock (gate)
        {
            Latency = Stall = DeliveryDelay = TimeSpan.Zero;
            Routes.Clear();
            DropDeliveries = DuplicateDeliveries = ReorderBatch = 0;
        }
        Release();
    }
}
