namespace Orchestrator.Domain.Trains;

/// <summary>Applies a train's events; never decides (a plan is applied exactly as recorded).</summary>
public static class TrainEvolver
{
    public static TrainState Evolve(TrainState state, ITrainEvent e) => e switch
    {
        TrainOpened o => state with { Branch = o.Branch, Policy = o.Policy, Window = o.Policy.InitialWindow },
        MrsJoined j => state with { Queue = state.Queue.AddRange(j.Mrs), Resolved = state.Resolved.RemoveRange(j.Mrs.Select(m => m.Iid)) },
        MrWithdrawn w => Leave(state, w.Iid, landed: false),
        PipelineFinished f => state with
        {
            Cars = state.Cars.ConvertAll(c => c.Id == f.CarId ? c with { Status = f.Passed ? CarStatus.Passed : CarStatus.Failed } : c),
        },
        ImagePushed p => state with
        {
            Pushed = state.Pushed.SetItem(p.Tag, p.Digest),
            Building = state.Building.RemoveAll(b => b.Tag == p.Tag),
            PushedFor = p.CarId is { } by && state.Car(by) is not null ? state.PushedFor.SetItem(p.Tag, by) : state.PushedFor.Remove(p.Tag),
        },
        ImageBuildFailed f => state with
        {
            Building = state.Building.RemoveAll(b => b.Tag == f.Tag && b.CarId == f.CarId),
            FailedBuilds = state.FailedBuilds.SetItem(f.Tag, f.CarId),
        },
        TrainPlanned p => Apply(state, p.Plan),
        _ => state,
    };

    private static TrainState Apply(TrainState state, TrainPlan plan)
    {
        foreach (var land in plan.Lands)
            state = RemoveCar(land.Mrs.Aggregate(state, (s, iid) => Leave(s, iid, landed: true)), land.CarId, keepBuilds: true, landed: true);
        // A rejected car's build on GitLab ended with its pipeline: pushed already, or never will be.
        foreach (var reject in plan.Rejects)
            state = RemoveCar(Leave(state, reject.Iid, landed: false), reject.CarId, keepBuilds: state.Policy?.BuildsOnce != true);
        foreach (var split in plan.Splits)
            state = RemoveCar(state with { Caps = state.Caps.SetItems(split.Mrs.Select(m => KeyValuePair.Create(m, split.MaxGroup))) },
                split.CarId, keepBuilds: true);
        foreach (var retire in plan.Retires)
            state = RemoveCar(state, retire.CarId, retire.KeepsBuilds);
        foreach (var start in plan.Starts)
            state = state with
            {
                Cars = state.Cars.Add(start.Car),
                Building = state.Building.AddRange(start.Car.Builds.Select(t => new ImageBuild(t, start.Car.Id))),
            };
        state = state with { Window = plan.Window, NextCar = state.NextCar + plan.Starts.Count };
        // Forget resolutions no car refers to any more: the state stays as small as the train.
        var referenced = state.Cars.SelectMany(c => c.Contents.Concat(c.Excluded)).ToHashSet();
        return state with { Resolved = state.Resolved.RemoveRange(state.Resolved.Keys.Where(k => !referenced.Contains(k))) };
    }

    private static TrainState Leave(TrainState state, long iid, bool landed) => state with
    {
        Queue = state.Queue.RemoveAll(m => m.Iid == iid),
        Resolved = state.Resolved.SetItem(iid, landed),
        Caps = state.Caps.Remove(iid),
    };

    // A finished car's builds already pushed; a cancelled one's stop with it unless the plan kept them. A failed build
    // is remembered only while its car waits for its verdict. A landed car's pushes are the branch's for good; a car
    // stopped without landing takes its pushes with it where pushes die with their car.
    private static TrainState RemoveCar(TrainState state, string carId, bool keepBuilds, bool landed = false)
    {
        var owned = state.PushedFor.Where(p => p.Value == carId).Select(p => p.Key).ToList();
        var void_ = landed || state.Policy?.PushesDieWithTheirCar != true ? [] : owned;
        return state with
        {
            Cars = state.Cars.RemoveAll(c => c.Id == carId),
            Building = keepBuilds ? state.Building : state.Building.RemoveAll(b => b.CarId == carId),
            FailedBuilds = state.FailedBuilds.RemoveRange(state.FailedBuilds.Where(f => f.Value == carId).Select(f => f.Key)),
            Pushed = state.Pushed.RemoveRange(void_),
            PushedFor = state.PushedFor.RemoveRange(owned),
        };
    }
}
