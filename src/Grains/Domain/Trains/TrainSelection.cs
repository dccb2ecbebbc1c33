namespace Orchestrator.Domain.Trains;

/// <summary>
/// Walks a strategy's wish list, most wanted first: keeps what already runs, starts what the budget and the images
/// allow, and says why the rest waits. Stops at the first wish the budget cannot pay for (everything after it is
/// worth less to the strategy).
/// </summary>
public static class TrainSelection
{
    /// <remarks>
    /// <paramref name="pushed"/>: the tags pushed, and <paramref name="building"/>: those being built (by car), once the
    /// plan's verdicts and stops are in.
    /// </remarks>
    public static (List<CarStart> Starts, List<Hold> Holds) Select(TrainSnapshot snapshot, TrainView view, IReadOnlyDictionary<long, bool> resolved,
        Dictionary<string, string> pushed, Dictionary<string, string> building)
    {
        var policy = snapshot.Policy;
        var starts = new List<CarStart>();
        var holds = new List<Hold>();
        var byIid = view.Queue.ToDictionary(m => m.Iid);
        var running = view.Cars.Count(c => c.Status == CarStatus.Running);
        var next = snapshot.NextCar;
        var examined = 0;
        var budgetInUse = $"the budget of {policy.Budget} pipelines is in use";

        void Start(Car car, string reason)
        {
            starts.Add(new CarStart(car, reason));
            foreach (var tag in car.Builds) building.TryAdd(tag, car.Id);
            running++;
            next++;
        }

        foreach (var wish in TrainProposers.Propose(view))
        {
            // Proposers may offer endless speculation: a few budgets' worth of wishes is all a plan can use.
            if (++examined > 6 * policy.Budget + view.Cars.Count) break;
            if (view.Existing(wish) is not null) continue;
            if (wish.ImageOnly)
            {
                var tags = wish.Mrs.SelectMany(i => byIid[i].Bumps).Where(t => !pushed.ContainsKey(t) && !building.ContainsKey(t)).ToList();
                if (tags.Count == 0) continue;
                if (running >= policy.Budget) { holds.Add(new Hold(wish.Mrs, wish.Base, budgetInUse)); break; }
                Start(new Car($"car-{next}", wish.Mrs, [], [], tags, [], CarStatus.Running, snapshot.At, KeepsBuilds: true, ImageOnly: true), wish.Reason);
                continue;
            }
            if (view.Cars.FirstOrDefault(f => TrainRules.Doomed(wish.Base.Concat(wish.Mrs), wish.Excluded, f, resolved)) is { } failed)
            {
                holds.Add(new Hold(wish.Mrs, wish.Base, $"it would test everything {failed.Id} tested, which failed"));
                continue;
            }
            if (running >= policy.Budget) { holds.Add(new Hold(wish.Mrs, wish.Base, budgetInUse)); break; }
            var images = TrainImages.For([.. wish.Base.Concat(wish.Mrs).Select(i => byIid[i])], [.. wish.Mrs.Select(i => byIid[i])],
                pushed, building, policy.ImageAware);
            if (images.Wait is not null)
            {
                holds.Add(new Hold(wish.Mrs, wish.Base, images.Wait));
                // Keeping its place stops work worth less from filling the budget while it waits, which would make it
                // start late, long after the image it waited for was pushed.
                if (images.KeepsPlace) running++;
                continue;
            }
            Start(new Car($"car-{next}", wish.Mrs, wish.Base, wish.Excluded, images.Builds, images.TestsOn, CarStatus.Running, snapshot.At,
                policy.ImageAware), wish.Reason);
        }
        return (starts, holds);
    }
}
