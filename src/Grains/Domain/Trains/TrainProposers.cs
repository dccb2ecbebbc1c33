namespace Orchestrator.Domain.Trains;

/// <summary>A car a strategy would like running: <see cref="Mrs"/> on top of <see cref="Base"/>, leaving out <see cref="Excluded"/> (waiting ones only).</summary>
/// <remarks>An <see cref="ImageOnly"/> proposal asks for the container jobs of <see cref="Mrs"/> alone, to push the tags they bump.</remarks>
public sealed record Proposal(IReadOnlyList<long> Mrs, IReadOnlyList<long> Base, IReadOnlyList<long> Excluded, string Reason, bool ImageOnly = false);

/// <summary>What a strategy sees while the planner decides: the waiting queue after this plan's landings and rejections, and the cars left.</summary>
public sealed class TrainView
{
    private readonly Dictionary<string, Car> byKey;

    public TrainView(TrainPolicy policy, IReadOnlyList<QueuedMr> queue, IReadOnlyList<Car> cars, int window, IReadOnlyDictionary<long, int> caps)
    {
        (Policy, Queue, Cars, Window, Caps) = (policy, queue, cars, window, caps);
        var waiting = queue.Select(m => m.Iid).ToHashSet();
        byKey = [];
        foreach (var car in cars.Where(c => !c.ImageOnly))
            byKey.TryAdd(Key(car.Mrs, car.Base.Where(waiting.Contains), car.Excluded.Where(waiting.Contains)), car);
    }

    public TrainPolicy Policy { get; }
    public IReadOnlyList<QueuedMr> Queue { get; }
    public IReadOnlyList<Car> Cars { get; }
    public int Window { get; }
    public IReadOnlyDictionary<long, int> Caps { get; }

    /// <summary>The car already testing exactly this (its assumptions about merge requests that left agree with reality, or it would be retired).</summary>
    public Car? Existing(Proposal p) => p.ImageOnly
        ? Cars.FirstOrDefault(c => c.ImageOnly && c.Mrs.SequenceEqual(p.Mrs))
        : byKey.GetValueOrDefault(Key(p.Mrs, p.Base, p.Excluded));

    private static string Key(IEnumerable<long> mrs, IEnumerable<long> @base, IEnumerable<long> excluded) =>
        $"{string.Join(',', mrs)}|{string.Join(',', @base.Order())}|{string.Join(',', excluded.Order())}";
}

/// <summary>Each strategy as a proposer: an ordered wish list, most wanted first; only the planner decides what starts.</summary>
public static class TrainProposers
{
    public static IEnumerable<Proposal> Propose(TrainView view) => view.Policy.Strategy switch
    {
        TrainStrategy.Serial or TrainStrategy.MergeTrain or TrainStrategy.AdaptiveDepth => MergeTrainProposer.Propose(view),
        TrainStrategy.Batch => BatchProposer.Propose(view),
        TrainStrategy.BestFirst => BestFirstProposer.Propose(view),
        TrainStrategy.ImageAwareBestFirst => ImageBuildProposer.Propose(view).Concat(BestFirstProposer.Propose(view)),
        _ => throw new ArgumentOutOfRangeException(nameof(view), view.Policy.Strategy, "unknown strategy"),
    };
}
