using System.Collections;
using System.Collections.Immutable;

namespace Sandbox.Model;

/// <summary>
/// A list that requests of any project add to and read at once: a reader enumerates the list as it was when it
/// began, a writer swaps in a new one. For the store's registries (merge requests, tokens, pipelines, hooks),
/// which every project's requests scan while other projects' requests add to them.
/// </summary>
public sealed class SnapshotList<T> : IReadOnlyCollection<T>
{
    private ImmutableList<T> items = ImmutableList<T>.Empty;

    public int Count => Volatile.Read(ref items).Count;

    public void Add(T item) => ImmutableInterlocked.Update(ref items, list => list.Add(item));

    public bool Remove(T item)
    {
        var removed = false;
        ImmutableInterlocked.Update(ref items, list =>
        {
            var after = list.Remove(item);
            removed = after != list;
            return after;
        });
        return removed;
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Volatile.Read(ref items)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
