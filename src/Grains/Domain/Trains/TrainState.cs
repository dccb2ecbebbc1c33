using System.Collections.Immutable;

namespace Orchestrator.Domain.Trains;

/// <summary>A branch's train folded from its events. <see cref="Snapshot"/> is what the planner sees of it.</summary>
// Resolved: Merge requests that left the queue, kept while a car still assumes something about them.
// Pushed: Every tag pushed while the train ran, with its digest.
public sealed record TrainState(
    string Branch,
    TrainPolicy? Policy,
    ImmutableList<QueuedMr> Queue,
    ImmutableList<Car> Cars,
    ImmutableDictionary<long, bool> Resolved,
    ImmutableDictionary<string, string> Pushed,
    ImmutableList<ImageBuild> Building,
    int Window,
    ImmutableDictionary<long, int> Caps,
    int NextCar)
{
    public static readonly TrainState Initial = new("", null, [], [], ImmutableDictionary<long, bool>.Empty,
        ImmutableDictionary<string, string>.Empty, [], 0, ImmutableDictionary<long, int>.Empty, 1);

    /// <summary>
    /// Which car pushed each tag, while that car has not landed (tags pushed by simulated builds, or by cars that landed,
    /// are not here): a push is only as good as its car, see <see cref="TrainPolicy.PushesDieWithTheirCar"/>.
    /// </summary>
    public ImmutableDictionary<string, string> PushedFor { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Tags whose build failed, with the car it failed in, kept while that car is in the train (its verdict is still to come).</summary>
    public ImmutableDictionary<string, string> FailedBuilds { get; init; } = ImmutableDictionary<string, string>.Empty;

    public bool IsOpen => Policy is not null;

    public Car? Car(string id) => Cars.Find(c => c.Id == id);

    /// <summary>
    /// Only what a plan can depend on, in a stable order: resolutions cars still refer to, and pushed tags that a
    /// waiting merge request bumps or needs. The rest of the history cannot change a plan, so it is not recorded with it.
    /// </summary>
    public TrainSnapshot Snapshot(DateTimeOffset at)
    {
        var referenced = Cars.SelectMany(c => c.Contents.Concat(c.Excluded)).ToHashSet();
        var tags = Queue.SelectMany(m => m.Bumps.Concat(m.Needs)).ToHashSet();
        return new TrainSnapshot(Branch, at, Policy ?? throw new InvalidOperationException("the train is not open"),
            Queue, Cars,
            [.. Resolved.Where(r => referenced.Contains(r.Key)).OrderBy(r => r.Key).Select(r => new Resolution(r.Key, r.Value))],
            [.. Pushed.Where(p => tags.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new ImageDigest(p.Key, p.Value))],
            Building,
            Window,
            [.. Caps.OrderBy(c => c.Key).Select(c => new BatchCap(c.Key, c.Value))],
            NextCar,
            // Absent rather than empty, so snapshots recorded before failed builds were known read back the same.
            FailedBuilds.IsEmpty ? null : [.. FailedBuilds.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => new ImageBuild(f.Key, f.Value))],
            PushedFor.Where(p => tags.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new TagOwner(p.Key, p.Value)).ToList() is
                { Count: > 0 } owners ? owners : null);
    }
}
