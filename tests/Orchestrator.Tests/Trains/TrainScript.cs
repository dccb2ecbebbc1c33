using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

/// <summary>
/// A scripted history of one branch's train: each step is a fact given to the planner, and the plan it decided is
/// there to assert on before the next step. Cars are described as "2 on [1]" (MR 2 tested on top of MR 1) or
/// "3 on [1] without [2]" (speculating that 2 fails); "image of 3" is a pipeline building only the tags 3 bumps.
/// </summary>
internal sealed class TrainScript
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
    private readonly List<ITrainEvent> events = [];
    private int minute;

    private TrainScript(TrainPolicy policy) => Apply(new OpenTrain("main", policy, Start));

    public static TrainScript Open(TrainStrategy strategy, int budget, int batchSize = 4) => new(new TrainPolicy(strategy, budget, batchSize));

    public static TrainScript Open(TrainPolicy policy) => new(policy);

    public TrainState State { get; private set; } = TrainState.Initial;
    public IReadOnlyList<ITrainEvent> Events => events;
    public TrainPlan Plan { get; private set; } = new([], [], [], [], [], [], 0);

    public static QueuedMr Mr(long iid, double chance = 0.95, string[]? bumps = null, string[]? needs = null) =>
        new(iid, chance, bumps ?? [], needs ?? []);

    /// <summary>One merge request joins: the planner plans with it before the next one comes.</summary>
    public TrainScript Join(long iid, double chance = 0.95, string[]? bumps = null, string[]? needs = null) =>
        Apply(new JoinTrain([Mr(iid, chance, bumps, needs)], Next()));

    /// <summary>Several found waiting at once (one poll): one plan for all of them.</summary>
    public TrainScript JoinAll(params long[] iids) => JoinAll(iids.Select(i => Mr(i)).ToArray());

    public TrainScript JoinAll(params QueuedMr[] mrs) => Apply(new JoinTrain(mrs, Next()));

    public TrainScript Pass(string carId) => Apply(new FinishPipeline(carId, true, Next()));
    public TrainScript Fail(string carId) => Apply(new FinishPipeline(carId, false, Next()));
    public TrainScript Push(string tag, string digest) => Apply(new PushImage(tag, digest, Next()));
    /// <summary>The car building a tag says it pushed it (on GitLab only that car's word counts).</summary>
    public TrainScript PushBy(string carId, string tag, string digest) => Apply(new PushImage(tag, digest, Next(), carId));
    public TrainScript BuildFailed(string carId, string tag) => Apply(new FailImage(tag, carId, Next()));
    public TrainScript Withdraw(long iid) => Apply(new WithdrawMr(iid, "unassigned", Next()));

    /// <summary>
    /// Plays GitLab until the train is empty: builds push first, then the oldest running pipeline ends, passing unless
    /// it tests a merge request in <paramref name="breaking"/>. Returns the most pipelines that ran at once.
    /// </summary>
    public int RunToEnd(params long[] breaking)
    {
        var most = 0;
        for (var step = 0; step < 500 && State.Cars.Count + State.Queue.Count > 0; step++)
        {
            most = Math.Max(most, State.Cars.Count(c => c.Status == CarStatus.Running));
            if (State.Building.FirstOrDefault() is { } build)
                Push(build.Tag, $"sha256:{build.Tag}");
            else if (State.Cars.Where(c => c.Status == CarStatus.Running).MinBy(c => int.Parse(c.Id[4..])) is { } oldest)
                Apply(new FinishPipeline(oldest.Id, oldest.ImageOnly || !oldest.Contents.Any(breaking.Contains), Next()));
            else
                Assert.Fail($"stuck: {State.Queue.Count} waiting, no pipeline running; last holds: {string.Join("; ", Plan.Holds.Select(h => h.Reason))}");
        }
        return most;
    }

    public IEnumerable<long> Landed => events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Lands).SelectMany(l => l.Mrs);
    public IEnumerable<long> Rejected => events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Rejects).Select(r => r.Iid);
    public IEnumerable<Car> Started => events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Starts).Select(s => s.Car);

    /// <summary>The car testing exactly this (by its description), to finish it by id.</summary>
    public string CarOf(string description) =>
        State.Cars.Single(c => Describe(c) == description).Id;

    public TrainScript Then(string[]? started = null, string[]? cancelled = null, long[]? landed = null, long[]? rejected = null)
    {
        Assert.Equal(started ?? [], Plan.Starts.Select(s => Describe(s.Car)));
        Assert.Equal(cancelled ?? [], Plan.Retires.Where(r => r.CancelPipeline).Select(r => Describe(Retired(r.CarId))));
        Assert.Equal(landed ?? [], Plan.Lands.SelectMany(l => l.Mrs));
        Assert.Equal(rejected ?? [], Plan.Rejects.Select(r => r.Iid));
        return this;
    }

    public TrainScript ThenRunning(params string[] cars)
    {
        Assert.Equal(cars.Order(), State.Cars.Where(c => c.Status == CarStatus.Running).Select(Describe).Order());
        return this;
    }

    public TrainScript ThenHeld(string reasonPart)
    {
        Assert.Contains(Plan.Holds, h => h.Reason.Contains(reasonPart, StringComparison.Ordinal));
        return this;
    }

    public TrainScript ThenReplayConsistent()
    {
        var report = TrainReplay.Run(events);
        Assert.True(report.Consistent, string.Join("; ", report.Plans.Where(p => !p.Same).Select(p => $"plan {p.Index}")));
        Assert.Equal(events.OfType<TrainPlanned>().Count(), report.Plans.Count);
        return this;
    }

    public static string Describe(Car c) => c.ImageOnly
        ? $"image of {string.Join('+', c.Mrs)}"
        : $"{string.Join('+', c.Mrs)} on [{string.Join(',', c.Base)}]" + (c.Excluded.Count > 0 ? $" without [{string.Join(',', c.Excluded)}]" : "");

    private Car Retired(string carId) =>
        events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Starts).Single(s => s.Car.Id == carId).Car;

    private DateTimeOffset Next() => Start.AddMinutes(++minute);

    private TrainScript Apply(TrainCommand command)
    {
        var decided = TrainPlanner.Decide(command, State);
        events.AddRange(decided);
        State = decided.Aggregate(State, TrainEvolver.Evolve);
        Plan = decided.OfType<TrainPlanned>().SingleOrDefault()?.Plan ?? new([], [], [], [], [], [], State.Window);
        return this;
    }
}
