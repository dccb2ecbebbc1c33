namespace Orchestrator.Persistence;

/// <summary>
/// The last <see cref="Capacity"/> keys added, oldest forgotten first: a bounded memory in front of a table that stays
/// the authority. A key found here was added; a key not found may still be known there.
/// </summary>
public sealed class RecentKeys(int capacity)
{
    private readonly HashSet<string> keys = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();
    private readonly Lock gate = new();

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Count
    {
        get
        {
            lock (gate) return keys.Count;
        }
    }

    public bool Contains(string key)
    {
        lock (gate) return keys.Contains(key);
    }

    public void Add(string key)
    {
        lock (gate)
        {
            if (!keys.Add(key)) return;
            order.Enqueue(key);
            if (order.Count > Capacity) keys.Remove(order.Dequeue());
        }
    }
}
