namespace Orchestrator.Domain.Trains;

/// <summary>
/// The train's one decider: a fact comes in, the planner records it and then the plan it decides from the snapshot
/// after it. Strategies only propose (<see cref="TrainProposers"/>); which cars start, which pipelines are cancelled,
/// which car lands and which merge request leaves are decided here, the same way for all of them. Pure: no clock,
/// no randomness, no I/O; a repeated or unknown fact decides nothing.
/// </summary>
public static class TrainPlanner
{
    public static IReadOnlyList<ITrainEvent> Decide(TrainCommand command, TrainState state)
    {
        var fact = Observe(command, state);
        if (fact is null) return [];
        if (fact is TrainOpened) return [fact];
        var snapshot = TrainEvolver.Evolve(state, fact).Snapshot(command.At);
        return [fact, new TrainPlanned(snapshot, Plan(snapshot), command.At)];
    }

    private static ITrainEvent? Observe(TrainCommand command, TrainState state) => command switch
    {
        OpenTrain c => state.IsOpen ? null : new TrainOpened(c.Branch, c.Policy, c.At),
        _ when !state.IsOpen => null,
        JoinTrain c => c.Mrs.Where(m => !state.Queue.Exists(q => q.Iid == m.Iid)).DistinctBy(m => m.Iid).ToList() is { Count: > 0 } news
            ? new MrsJoined(news, c.At) : null,
        WithdrawMr c => state.Queue.Exists(m => m.Iid == c.Iid) ? new MrWithdrawn(c.Iid, c.Reason, c.At) : null,
        FinishPipeline c => state.Car(c.CarId) is { Status: CarStatus.Running } ? new PipelineFinished(c.CarId, c.Passed, c.At) : null,
        // A car's word counts only for a tag the plan gave it to build, and only once.
        PushImage { CarId: { } car } c => state.Building.Contains(new ImageBuild(c.Tag, car)) ? new ImagePushed(c.Tag, c.Digest, c.At, car) : null,
        PushImage c => state.Pushed.GetValueOrDefault(c.Tag) == c.Digest ? null : new ImagePushed(c.Tag, c.Digest, c.At),
        FailImage c => state.Building.Contains(new ImageBuild(c.Tag, c.CarId)) ? new ImageBuildFailed(c.Tag, c.CarId, c.At) : null,
        _ => null,
    };

    /// <summary>The plan for one snapshot. Replay calls exactly this on the recorded snapshot.</summary>
    public static TrainPlan Plan(TrainSnapshot snapshot)
    {
        var policy = snapshot.Policy;
        var queue = snapshot.Queue.ToList();
        var cars = snapshot.Cars.ToList();
        var resolved = snapshot.Resolved.ToDictionary(r => r.Iid, r => r.Landed);
        var caps = snapshot.Caps.ToDictionary(c => c.Iid, c => c.MaxGroup);
        var failedBuilds = snapshot.FailedBuilds ?? [];
        var window = snapshot.Window;
        var lands = new List<Landing>();
        var rejects = new List<Rejection>();
        var splits = new List<Bisection>();
        var retires = new List<Retirement>();

        // A running car testing everything a failed car tested would fail too: cancel it before anything else.
        foreach (var car in cars.Where(c => c.Status == CarStatus.Running && !c.ImageOnly).ToList())
            if (cars.FirstOrDefault(f => f != car && TrainRules.Doomed(car.Contents, car.Excluded, f, resolved)) is { } failed)
            {
                retires.Add(new Retirement(car.Id, true, $"it tests everything {failed.Id} tested, which failed", policy.BuildsOutliveCars));
                cars.Remove(car);
            }

        // Verdicts on the real branch, head first, until none is left: a landing can bring the next car to the head.
        for (var again = true; again;)
        {
            again = false;
            var waiting = queue.Select(m => m.Iid).ToHashSet();
            foreach (var car in cars.Where(c => c.Status != CarStatus.Running && TrainRules.AtHead(c, waiting, resolved)))
            {
                if (car.Status == CarStatus.Passed)
                {
                    lands.Add(new Landing(car.Id, car.Mrs,
                        "its pipeline passed on the branch as it is: every merge request it was tested on top of has landed"));
                    window = TrainRules.Adapt(window, landed: true, policy);
                    foreach (var m in car.Mrs) resolved[m] = true;
                }
                else if (car.Mrs.Count == 1)
                {
                    rejects.Add(new Rejection(car.Mrs[0], car.Id, "its pipeline failed on the branch as it is"));
                    window = TrainRules.Adapt(window, landed: false, policy);
                    resolved[car.Mrs[0]] = false;
                    foreach (var (iid, why) in TrainRules.NeedingFailedBuilds(car, failedBuilds, queue, resolved))
                    {
                        var theirs = cars.FirstOrDefault(c => c != car && c.Mrs.Contains(iid));
                        rejects.Add(new Rejection(iid, theirs?.Id ?? "", why));
                        resolved[iid] = false;
                        if (theirs is not null) cars.Remove(theirs);
                    }
                }
                else
                {
                    var half = TrainRules.Half(car.Mrs.Count);
                    splits.Add(new Bisection(car.Id, car.Mrs, half,
                        $"the batch of {car.Mrs.Count} failed on the branch as it is: tested again in halves"));
                    window = TrainRules.Adapt(window, landed: false, policy);
                    foreach (var m in car.Mrs) caps[m] = half;
                }
                queue.RemoveAll(m => resolved.ContainsKey(m.Iid));
                cars.Remove(car);
                again = true;
                break;
            }
        }

        var stillWaiting = queue.Select(m => m.Iid).ToHashSet();
        foreach (var car in cars.Where(c => c.ImageOnly && c.Status != CarStatus.Running).ToList())
        {
            retires.Add(new Retirement(car.Id, false, car.Status == CarStatus.Passed ? "its image build is done" : "its image build failed", true));
            cars.Remove(car);
        }
        foreach (var car in cars.ToList())
            if (TrainRules.Contradiction(car, stillWaiting, resolved) is { } why)
            {
                retires.Add(new Retirement(car.Id, car.Status == CarStatus.Running, why, policy.BuildsOutliveCars));
                cars.Remove(car);
            }
        foreach (var m in caps.Keys.Where(m => !stillWaiting.Contains(m)).ToList()) caps.Remove(m);

        var view = new TrainView(policy, queue, cars, window, caps);
        var (starts, holds) = TrainSelection.Select(snapshot, view, resolved, PushedAfter(snapshot, retires, rejects), BuildingAfter(snapshot, retires, rejects));
        return new TrainPlan(lands, rejects, splits, retires, starts, holds, window);
    }

    /// <summary>The tags pushed once this plan's stops are in: a push by a car stopped without landing is void where pushes die with their car.</summary>
    private static Dictionary<string, string> PushedAfter(TrainSnapshot snapshot, IReadOnlyList<Retirement> retires, IReadOnlyList<Rejection> rejects)
    {
        var pushed = snapshot.Pushed.ToDictionary(p => p.Tag, p => p.Digest);
        var stopped = retires.Select(r => r.CarId).Concat(rejects.Select(r => r.CarId)).ToHashSet();
        if (snapshot.Policy.PushesDieWithTheirCar)
            foreach (var owner in (snapshot.PushedFor ?? []).Where(o => stopped.Contains(o.CarId)))
                pushed.Remove(owner.Tag);
        return pushed;
    }

    /// <summary>The builds going on once this plan's cars are stopped (a stopped car's build stops with it, unless it outlives cars).</summary>
    private static Dictionary<string, string> BuildingAfter(TrainSnapshot snapshot, IReadOnlyList<Retirement> retires, IReadOnlyList<Rejection> rejects)
    {
        var stopped = retires.Where(r => !r.KeepsBuilds).Select(r => r.CarId)
            .Concat(snapshot.Policy.BuildsOnce ? rejects.Select(r => r.CarId) : []).ToHashSet();
        return snapshot.Building.Where(b => !stopped.Contains(b.CarId)).GroupBy(b => b.Tag).ToDictionary(g => g.Key, g => g.First().CarId);
    }

}
