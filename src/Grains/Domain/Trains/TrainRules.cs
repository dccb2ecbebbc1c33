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

    /// <summary>
    /// The tags (<c>name:tag</c>) whose builds ran beside a car whose attempt began at <paramref name="since"/>: those being
    /// built or pushed now, those of cars that ended since (landed, rejected, stopped: their pushes may reach the registry
    /// after the train forgot them), and every push reported since. A car's registry guard expects these to change.
    /// </summary>
    public static IReadOnlyList<string> BuildsBeside(IReadOnlyList<ITrainEvent> events, TrainState state, DateTimeOffset since)
    {
        var plans = events.OfType<TrainPlanned>().ToList();
        var builds = plans.SelectMany(p => p.Plan.Starts).GroupBy(s => s.Car.Id).ToDictionary(g => g.Key, g => g.SelectMany(s => s.Car.Builds).ToList());
        return [.. state.Building.Select(b => b.Tag).Concat(state.PushedFor.Keys)
            .Concat(EndedSince(plans, since).SelectMany(car => builds.GetValueOrDefault(car) ?? []))
            .Concat(events.OfType<ImagePushed>().Where(p => p.At >= since).Select(p => p.Tag))
            .Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// What the train can vouch for beside a car whose attempt began at <paramref name="since"/>: the tags its other cars
    /// build (<see cref="BuildsBeside"/>), every push it recorded of those tags (by digest, each checked by the car that
    /// made it against its own pipeline and commit), and the heads of the cars whose pipelines ran meanwhile (running now,
    /// ended since, or pushed since): an image labelled with one of those commits and a bot's pipeline there is a car's build.
    /// The head of every car that made one of those pushes is there too, so the asker can tell its own merge request's pushes.
    /// </summary>
    public static TrainBuildsBeside Beside(IReadOnlyList<ITrainEvent> events, TrainState state, DateTimeOffset since)
    {
        var tags = BuildsBeside(events, state, since);
        List<CarPush> pushes = [.. events.OfType<ImagePushed>().Where(p => tags.Contains(p.Tag) && p.CarId is not null)
            .Select(p => new CarPush(p.Tag, p.Digest, p.CarId!)).Distinct()];
        var cars = state.Cars.Select(c => c.Id).Concat(EndedSince([.. events.OfType<TrainPlanned>()], since)).Concat(pushes.Select(p => p.CarId)).ToHashSet();
        return new TrainBuildsBeside(tags, pushes,
            [.. events.OfType<CarHeadPushed>().Where(h => h.At >= since || cars.Contains(h.CarId)).Select(h => new CarHead(h.Iid, h.CarId, h.Sha)).Distinct()]);
    }

    private static IEnumerable<string> EndedSince(IReadOnlyList<TrainPlanned> plans, DateTimeOffset since) => plans.Where(p => p.At >= since)
        .SelectMany(p => p.Plan.Lands.Select(l => l.CarId).Concat(p.Plan.Rejects.Select(r => r.CarId)).Concat(p.Plan.Retires.Select(r => r.CarId)));
}
