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
    private double now, busyMinutes, lastMerge = double.NegativeInfinity;
    // GitLab's side of landings (only with LandingCosts): when each car's head is pushed, which passed cars wait to
    // merge and since when, and the one merge under way (GitLab merges one at a time).
    private readonly Dictionary<string, double> headPushed = [];
    private readonly Dictionary<string, double> passedAt = [];
    private string? merging;
    private int landed, rejected, pipelines, builds, allBuilds, mostAtOnce;

    private abstract record Happening;
    private sealed record PipelineEnds(string CarId, bool Passes) : Happening;
    private sealed record BuildPushes(string Tag, string CarId) : Happening;
    private sealed record PipelinePasses(string CarId) : Happening;
    private sealed record MergeLands(string CarId) : Happening;

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
                case PipelinePasses p when state.Car(p.CarId) is { Status: CarStatus.Running }:
                    passedAt[p.CarId] = now;
                    MergeNext();
                    break;
                case MergeLands m:
                    merging = null;
                    lastMerge = now;
                    // The merge is the landing: the train hears its car passed only now, as TrainGrain does.
                    if (state.Car(m.CarId) is { Status: CarStatus.Running }) Decide(new FinishPipeline(m.CarId, true, At(now)));
                    MergeNext();
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
            Landed(iid);
        }
        foreach (var reject in plan.Rejects)
        {
            Remember(mrs[reject.Iid].Author, landed: false);
            if (Counting) rejected++;
        }
        if (plan.Lands.Count + plan.Rejects.Count > 0) TopUp();
        MergeNext();
    }

    /// <summary>
    /// GitLab's merges, one at a time: the passed car at the head merges right away when nothing moved since it was
    /// tested, else a chained landing's time after the merge before it.
    /// </summary>
    private void MergeNext()
    {
        if (settings.Landing is not { } costs || merging is not null) return;
        var waiting = state.Queue.Select(m => m.Iid).ToHashSet();
        var head = state.Cars.FirstOrDefault(c => c.Status == CarStatus.Running && passedAt.ContainsKey(c.Id) && TrainRules.AtHead(c, waiting, state.Resolved));
        if (head is null) return;
        merging = head.Id;
        Schedule(Math.Max(now, Math.Max(passedAt[head.Id] + costs.Merge / 60, lastMerge + costs.Chained / 60)), new MergeLands(head.Id));
    }

    private void Start(Car car)
    {
        if (Counting) { pipelines++; builds += car.Builds.Count; }
        allBuilds += car.Builds.Count;
        tagsBuilt.UnionWith(car.Builds);
        var start = now;
        if (settings.Landing is { } costs)
        {
            // A car on the target itself is rebased onto what the last merge left, once the word has passed on; a car
            // behind another is rebased onto that car's head, once it is pushed and the word has passed on.
            var ahead = car.Base.Count == 0 ? null : state.Cars.FirstOrDefault(c => c.Id != car.Id && c.Status == CarStatus.Running && c.Mrs.Contains(car.Base[^1]));
            start = ahead is null ? Math.Max(now, lastMerge + costs.Handover / 60) : Math.Max(now, headPushed.GetValueOrDefault(ahead.Id, now));
            headPushed[car.Id] = start + (settings.RebaseSeconds + costs.Handover) / 60;
        }
        var overhead = settings.OverheadSeconds / 60;
        var build = car.Builds.Count > 0 ? settings.BuildMinutes : 0;
        foreach (var tag in car.Builds) Schedule(start + overhead + build, new BuildPushes(tag, car.Id));
        // A build-only pipeline runs the container jobs and nothing else; it ends when its tags are pushed.
        var tests = car.ImageOnly ? 0 : settings.PipelineMinutes;
        var passes = car.ImageOnly || car.Contents.All(m => !mrs[m].Breaks);
        // With GitLab's landings modelled, a passed car is the train's only once merged (MergeNext).
        Schedule(start + overhead + build + tests, passes && !car.ImageOnly && settings.Landing is not null
            ? new PipelinePasses(car.Id) : new PipelineEnds(car.Id, passes));
    }

    /// <summary>A merge request is on the branch now: counted once past the warm-up, and only if it merged before the end.</summary>
    private void Landed(long iid)
    {
        if (!Counting) return;
        landed++;
        if (joinedAt[iid] >= settings.WarmupHours * 60) hoursToLand.Add((now - joinedAt[iid]) / 60);
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
