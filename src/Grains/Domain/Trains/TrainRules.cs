namespace Orchestrator.Domain.Trains;

/// <summary>
/// The planner's rule book: when a car's verdict counts, when a car is worth nothing any more, what images a car
/// needs. Named pure functions, so a plan's reasons point at one rule each.
/// </summary>
public static class TrainRules
{
    /// <summary>
    /// The car tested the branch as it really is: everything it assumed would land did, everything it left out is
    /// gone, and its own merge requests still wait. Only then is its verdict about them.
    /// </summary>
    public static bool AtHead(Car car, IReadOnlySet<long> waiting, IReadOnlyDictionary<long, bool> resolved) =>
        !car.ImageOnly
        && car.Base.All(m => resolved.TryGetValue(m, out var landed) && landed)
        && car.Excluded.All(m => resolved.TryGetValue(m, out var landed) && !landed)
        && car.Mrs.All(waiting.Contains);

    /// <summary>Why reality disagrees with what the car assumed, or null while it still agrees.</summary>
    public static string? Contradiction(Car car, IReadOnlySet<long> waiting, IReadOnlyDictionary<long, bool> resolved)
    {
        foreach (var m in car.Mrs.Where(m => !waiting.Contains(m)))
            return $"!{m} left the queue";
        foreach (var m in car.Base.Where(m => resolved.TryGetValue(m, out var landed) && !landed))
            return $"it assumed !{m} would land, and !{m} left without landing";
        foreach (var m in car.Excluded.Where(m => resolved.TryGetValue(m, out var landed) && landed))
            return $"it assumed !{m} would not land, and !{m} landed";
        return null;
    }

    /// <summary>
    /// The work tests everything the failed car tested (and leaves out nothing it included): it would fail the same
    /// way, so it is not worth a pipeline. This is the merge train's "everything behind a failure is rebuilt".
    /// </summary>
    public static bool Doomed(IEnumerable<long> contents, IEnumerable<long> excluded, Car failed, IReadOnlyDictionary<long, bool> resolved)
    {
        if (failed.Status != CarStatus.Failed || failed.ImageOnly) return false;
        var tested = contents.ToHashSet();
        return failed.Contents.All(m => tested.Contains(m) || resolved.TryGetValue(m, out var landed) && landed)
            && failed.Excluded.All(m => !tested.Contains(m));
    }

    /// <summary>Tags a pipeline testing <paramref name="contents"/> runs on: those they bump, and those its own merge requests need.</summary>
    public static IReadOnlyList<string> ImagesNeeded(IReadOnlyList<QueuedMr> contents, IReadOnlyList<QueuedMr> own) =>
        [.. contents.SelectMany(m => m.Bumps).Concat(own.SelectMany(m => m.Needs)).Distinct()];

    /// <summary>
    /// A failed image build takes down only those who need the tag: once the car it failed in is judged on the branch
    /// as it is, every waiting merge request bumping or needing one of its failed tags leaves with it, untested (no other
    /// car would build that tag differently); those merely behind it are rebuilt without it as after any failure.
    /// </summary>
    public static IEnumerable<(long Iid, string Why)> NeedingFailedBuilds(Car failed, IReadOnlyList<ImageBuild> failedBuilds,
        IReadOnlyList<QueuedMr> waiting, IReadOnlyDictionary<long, bool> resolved)
    {
        var tags = failedBuilds.Where(f => f.CarId == failed.Id).Select(f => f.Tag).ToList();
        foreach (var mr in waiting.Where(m => !resolved.ContainsKey(m.Iid) && !failed.Mrs.Contains(m.Iid)))
            if (tags.FirstOrDefault(t => mr.Bumps.Contains(t) || mr.Needs.Contains(t)) is { } tag)
                yield return (mr.Iid, $"it needs {tag}, whose build failed in {failed.Id} (!{string.Join(", !", failed.Mrs)})");
    }

    /// <summary>Zuul's window: one deeper per landing, half as deep per failure on the real branch, within the budget.</summary>
    public static int Adapt(int window, bool landed, TrainPolicy policy) => policy.Strategy != TrainStrategy.AdaptiveDepth
        ? window
        : landed ? Math.Min(policy.Budget, window + 1) : Math.Max(policy.MinWindow, window / 2);

    /// <summary>bors' bisection: a failed batch is tested again in halves.</summary>
    public static int Half(int size) => (size + 1) / 2;
}
