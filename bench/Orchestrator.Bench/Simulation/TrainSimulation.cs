using Orchestrator.Domain.Trains;

namespace Orchestrator.Bench.Simulation;

/// <summary>What one strategy did on one simulated branch, counted after the warm-up.</summary>
public sealed record SimulationResult(
    TrainStrategy Strategy,
    SimulationSettings Settings,
    int Landed,
    int Rejected,
    double LandingsPerHour,
    Stats HoursToLand,
    double PipelinesPerLanded,
    double BuildsPerLanded,
    double BuildsPerBumpedTag,
    int MostPipelinesAtOnce,
    double BudgetInUse,
    bool? ReplayConsistent);

/// <summary>
/// A discrete-event run of the real planner: the simulator only plays GitLab (pipelines end after their time, pass
/// unless they test a merge request that breaks CI, builds push their tag) and the authors (saturated arrivals).
/// Every fact goes through <see cref="TrainPlanner.Decide"/>; every start, cancel and landing is the planner's.
/// </summary>
public sealed class TrainSimulation
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
    private readonly SimulationSettings settings;
    private readonly TrainStrategy strategy;
    private readonly MrStream stream;
    private readonly Dictionary<long, SyntheticMr> mrs = [];
    private readonly Dictionary<long, double> joinedAt = [];
    // Each author's last results (true = landed), the "recent pass rate" the predictor reads.
    private const int RecentResults = 20;
    private readonly Queue<bool>[] recent = [.. Enumerable.Range(0, MrStream.Authors).Select(_ => new Queue<bool>())];
    private readonly PriorityQueue<Happening, (double, long)> agenda = new();
    private readonly List<ITrainEvent>? recorded;
    private readonly List<double> hoursToLand = [];
    private readonly HashSet<string> tagsBuilt = [];
    private TrainState state = TrainState.Initial;
    private long order;
    private double now, busyMinutes;
    private int landed, rejected, pipelines, builds, allBuilds, mostAtOnce;

    private abstract record Happening;
    private sealed record PipelineEnds(string CarId, bool Passes) : Happening;
    private sealed record BuildPushes(string Tag, string CarId) : Happening;

    private TrainSimulation(SimulationSettings settings, TrainStrategy strategy, bool record)
    {
        (this.settings, this.strategy) = (settings, strategy);
        stream = new MrStream(settings.Seed, settings.FailureShare, settings.BumpShare);
        recorded = record ? [] : null;
    }

    public static SimulationResult Run(SimulationSettings settings, TrainStrategy strategy, bool replay) =>
        new TrainSimulation(settings, strategy, replay).Run();

    private SimulationResult Run()
    {
        Decide(new OpenTrain("main", new TrainPolicy(strategy, settings.Budget, settings.BatchSize), At(0)));
        TopUp();
        var end = settings.Hours * 60;
        while (agenda.TryDequeue(out var next, out var when) && when.Item1 <= end)
        {
            if (when.Item1 > settings.WarmupHours * 60)
                busyMinutes += (when.Item1 - Math.Max(now, settings.WarmupHours * 60)) * state.Cars.Count(c => c.Status == CarStatus.Running);
            now = when.Item1;
            switch (next)
            {
                case PipelineEnds p when state.Car(p.CarId) is { Status: CarStatus.Running }:
                    Decide(new FinishPipeline(p.CarId, p.Passes, At(now)));
                    break;
                case BuildPushes b when state.Building.Contains(new ImageBuild(b.Tag, b.CarId)):
                    Decide(new PushImage(b.Tag, $"sha256:{b.Tag.Replace(':', '-')}", At(now)));
                    break;
            }
        }
        var hours = settings.Hours - settings.WarmupHours;
        bool? consistent = recorded is null ? null : TrainReplay.Run(recorded).Consistent;
        return new SimulationResult(strategy, settings, landed, rejected, landed / hours, Stats.Of(hoursToLand),
            pipelines / (double)Math.Max(1, landed), builds / (double)Math.Max(1, landed),
            allBuilds / (double)Math.Max(1, tagsBuilt.Count), mostAtOnce, busyMinutes / (settings.Budget * hours * 60), consistent);
    }

    private bool Counting => now >= settings.WarmupHours * 60;

    private static DateTimeOffset At(double minutes) => Epoch.AddMinutes(minutes);

    private void Decide(TrainCommand command)
    {
        var events = TrainPlanner.Decide(command, state);
        recorded?.AddRange(events);
        state = events.Aggregate(state, TrainEvolver.Evolve);
        foreach (var plan in events.OfType<TrainPlanned>().Select(p => p.Plan)) React(plan);
    }

    private void React(TrainPlan plan)
    {
        foreach (var start in plan.Starts) Start(start.Car);
        mostAtOnce = Math.Max(mostAtOnce, state.Cars.Count(c => c.Status == CarStatus.Running));
        if (mostAtOnce > settings.Budget) throw new InvalidOperationException($"{strategy}: {mostAtOnce} pipelines at once, budget {settings.Budget}");
        foreach (var iid in plan.Lands.SelectMany(l => l.Mrs))
        {
            Remember(mrs[iid].Author, landed: true);
            if (Counting)
            {
                landed++;
                if (joinedAt[iid] >= settings.WarmupHours * 60) hoursToLand.Add((now - joinedAt[iid]) / 60);
            }
        }
        foreach (var reject in plan.Rejects)
        {
            Remember(mrs[reject.Iid].Author, landed: false);
            if (Counting) rejected++;
        }
        if (plan.Lands.Count + plan.Rejects.Count > 0) TopUp();
    }

    private void Start(Car car)
    {
        if (Counting) { pipelines++; builds += car.Builds.Count; }
        allBuilds += car.Builds.Count;
        tagsBuilt.UnionWith(car.Builds);
        var overhead = settings.OverheadSeconds / 60;
        var build = car.Builds.Count > 0 ? settings.BuildMinutes : 0;
        foreach (var tag in car.Builds) Schedule(now + overhead + build, new BuildPushes(tag, car.Id));
        // A build-only pipeline runs the container jobs and nothing else; it ends when its tags are pushed.
        var tests = car.ImageOnly ? 0 : settings.PipelineMinutes;
        Schedule(now + overhead + build + tests, new PipelineEnds(car.Id, car.ImageOnly || car.Contents.All(m => !mrs[m].Breaks)));
    }

    private void Remember(int author, bool landed)
    {
        recent[author].Enqueue(landed);
        if (recent[author].Count > RecentResults) recent[author].Dequeue();
    }

    private void Schedule(double at, Happening happening) => agenda.Enqueue(happening, (at, order++));

    private void TopUp()
    {
        var joining = new List<QueuedMr>();
        while (state.Queue.Count + joining.Count < settings.Backlog)
        {
            var mr = stream.Next();
            mrs[mr.Iid] = mr;
            joinedAt[mr.Iid] = now;
            var results = recent[mr.Author];
            joining.Add(MrStream.Queued(mr, SuccessPredictor.PassRate(results.Count(r => r), results.Count(r => !r))));
        }
        if (joining.Count > 0) Decide(new JoinTrain(joining, At(now)));
    }
}
