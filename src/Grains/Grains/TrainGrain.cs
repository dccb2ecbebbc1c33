using Marten;
using Orchestrator.Domain;
using Orchestrator.Domain.Trains;

namespace Orchestrator.Grains;

/// <summary>
/// A branch's merge train on its Marten stream (<c>train-&lt;project&gt;-&lt;branch&gt;</c>): each fact goes through
/// <see cref="TrainPlanner.Decide"/>, whose events (the fact, then the plan with its snapshot) are appended before
/// anyone is told. What the cars' merge requests report of GitLab (heads pushed, merges) is appended alongside.
/// </summary>
public sealed class TrainGrain(IDocumentStore store) : Grain, ITrainGrain
{
    private readonly List<ITrainEvent> events = [];
    private TrainState state = TrainState.Initial;
    // Folded beside the planner's state: the latest car each merge request rode in, the heads pushed, GitLab's merges,
    // the train's verdicts, why a merge request's car was last retired, and what the last plan held back.
    private readonly Dictionary<long, Car> lastCar = [];
    private readonly Dictionary<long, (string CarId, string Sha)> heads = [];
    private readonly Dictionary<long, string> merged = [];
    private readonly Dictionary<long, string> rejected = [];
    // Rejected without a car: an image they need failed to build (TrainRules.NeedingFailedBuilds).
    private readonly Dictionary<long, DateTimeOffset> rejectedUntested = [];
    private readonly Dictionary<long, string> retiredBecause = [];
    private IReadOnlyList<Hold> holds = [];
    // How far GetTrain has audited the stream: up to which event, the state replay folded there, its verdict, its plans.
    private (int Upto, TrainState State, bool Consistent, int Plans) audit = (0, TrainState.Initial, true, 0);
    private readonly Dictionary<long, string> stopped = [];
    private readonly HashSet<long> haltedBy = [];

    private MergeQueueKey Key => MergeQueueKey.Parse(this.GetPrimaryKeyString());
    private string Stream => $"train-{Key.ProjectId}-{Key.Branch}";

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        foreach (var e in await session.Events.FetchStreamAsync(Stream, token: ct)) Apply((ITrainEvent)e.Data);
    }

    public async Task<TrainSeat> Join(long iid, TrainPolicy policy, DateTimeOffset at, IReadOnlyList<string>? bumps = null,
        DateTimeOffset? attemptStartedAt = null)
    {
        if (!state.IsOpen) await DecideAsync(new OpenTrain(Key.Branch, policy, at));
        // Taken out while still waiting (an image it needs failed to build): this attempt's verdict, not a reason to join again.
        if (attemptStartedAt is { } since && rejectedUntested.TryGetValue(iid, out var when) && when >= since) return SeatOf(iid);
        // A merge request back for another attempt is a new passenger: the old verdict was about its old attempt.
        if (!state.Queue.Exists(m => m.Iid == iid) && !merged.ContainsKey(iid))
            await DecideAsync(new JoinTrain([QueuedMr.Plain(iid) with { Bumps = bumps ?? [] }], at));
        return SeatOf(iid);
    }

    public Task<TrainSeat> Seat(long iid) => Task.FromResult(SeatOf(iid));

    public async Task<TrainSeat> ReportHead(long iid, string carId, string sha, DateTimeOffset at)
    {
        if (CurrentCar(iid)?.Id == carId && heads.GetValueOrDefault(iid) != (carId, sha))
            await AppendAsync([new CarHeadPushed(iid, carId, sha, at)]);
        return SeatOf(iid);
    }

    public async Task<TrainSeat> ReportFailed(long iid, string carId, DateTimeOffset at)
    {
        if (state.Car(carId) is { Status: CarStatus.Running } car && car.Mrs.Contains(iid)) await DecideAsync(new FinishPipeline(carId, false, at));
        return SeatOf(iid);
    }

    public async Task<TrainSeat> ReportImage(long iid, string carId, string tag, string digest, DateTimeOffset at)
    {
        if (CurrentCar(iid)?.Id == carId) await DecideAsync(new PushImage(tag, digest, at, carId));
        return SeatOf(iid);
    }

    public async Task<TrainSeat> ReportImageFailed(long iid, string carId, string tag, DateTimeOffset at)
    {
        if (CurrentCar(iid)?.Id == carId) await DecideAsync(new FailImage(tag, carId, at));
        return SeatOf(iid);
    }

    public async Task ReportMerged(long iid, string sha, DateTimeOffset at)
    {
        // Only a passenger's merge is the train's to record.
        if (CurrentCar(iid) is null && !state.Queue.Exists(m => m.Iid == iid)) return;
        if (!merged.ContainsKey(iid)) await AppendAsync([new MrMerged(iid, sha, at)]);
        // The car lands only now that GitLab has merged it: the plan never gets ahead of the branch.
        if (CurrentCar(iid) is { Status: CarStatus.Running } car && state.Car(car.Id) is not null) await DecideAsync(new FinishPipeline(car.Id, true, at));
    }

    public async Task Leave(long iid, string reason, DateTimeOffset at)
    {
        if (state.Queue.Exists(m => m.Iid == iid)) await DecideAsync(new WithdrawMr(iid, reason, at));
    }

    public async Task Halt(long iid, string reason, DateTimeOffset at)
    {
        if (haltedBy.Contains(iid)) return;
        var riding = state.Cars.Where(c => !c.ImageOnly).SelectMany(c => c.Mrs).Where(m => m != iid).Distinct().ToList();
        await AppendAsync([new TrainHalted(iid, reason, riding, at)]);
        foreach (var mr in riding) await DecideAsync(new WithdrawMr(mr, $"the merge train stopped: {reason}", at));
    }

    public Task<TrainBuildsBeside> BuildsBeside(DateTimeOffset since) => Task.FromResult(TrainRules.Beside(events, state, since));

    public Task<TrainView> GetTrain()
    {
        // Each read audits only what was appended since the last one: the operations page reads every train every few seconds.
        var report = TrainReplay.Continue(events, audit.Upto, audit.State);
        audit = (events.Count, report.State, audit.Consistent && report.Consistent, audit.Plans + report.Plans.Count);
        var cars = state.Cars.Where(c => !c.ImageOnly)
            .Select(c => new TrainCarView(c.Id, c.Mrs[0], c.Base, heads.TryGetValue(c.Mrs[0], out var h) && h.CarId == c.Id ? h.Sha : null,
                c.Status.ToString().ToLowerInvariant()))
            .ToList();
        var riding = cars.Select(c => c.Iid).ToHashSet();
        return Task.FromResult(new TrainView(Key.Branch, cars, [.. state.Queue.Select(m => m.Iid).Where(i => !riding.Contains(i))],
            [.. merged.Keys], audit.Consistent, audit.Plans,
            [.. events.OfType<TrainPlanned>().SelectMany(p => p.Plan.Retires).Select(r => r.CarId)]));
    }

    private async Task DecideAsync(TrainCommand command)
    {
        var decided = TrainPlanner.Decide(command, state);
        if (decided.Count > 0) await AppendAsync(decided);
    }

    private async Task AppendAsync(IReadOnlyList<ITrainEvent> decided)
    {
        await using var session = store.LightweightSession();
        session.Events.Append(Stream, events.Count + decided.Count, [.. decided.Cast<object>()]);
        await session.SaveChangesAsync();
        var before = state.Queue.ToDictionary(m => m.Iid, m => Shown(SeatOf(m.Iid)));
        foreach (var e in decided) Apply(e);
        PokeChanged(before, decided.OfType<TrainPlanned>().SelectMany(p => p.Plan.Rejects).Select(r => r.Iid));
    }

    private void Apply(ITrainEvent e)
    {
        events.Add(e);
        switch (e)
        {
            case TrainPlanned p:
                foreach (var start in p.Plan.Starts.Where(s => !s.Car.ImageOnly))
                    foreach (var iid in start.Car.Mrs) lastCar[iid] = start.Car;
                foreach (var reject in p.Plan.Rejects)
                {
                    rejected[reject.Iid] = reject.Reason;
                    if (state.Car(reject.CarId) is null) rejectedUntested[reject.Iid] = p.At;
                }
                foreach (var retire in p.Plan.Retires)
                    if (state.Car(retire.CarId) is { } car)
                        foreach (var iid in car.Mrs) retiredBecause[iid] = $"{retire.CarId} was stopped: {retire.Reason}";
                holds = p.Plan.Holds;
                break;
            case CarHeadPushed h:
                heads[h.Iid] = (h.CarId, h.Sha);
                break;
            case MrMerged m:
                merged[m.Iid] = m.Sha;
                break;
            // Recorded, so a reload after a restart forgets the old attempt's verdict too (else the seat says rejected forever).
            case MrsJoined j:
                foreach (var m in j.Mrs)
                {
                    rejected.Remove(m.Iid);
                    stopped.Remove(m.Iid);
                    rejectedUntested.Remove(m.Iid);
                }
                break;
            case TrainHalted t:
                haltedBy.Add(t.Iid);
                foreach (var iid in t.Stopped) stopped[iid] = t.Reason;
                break;
        }
        state = TrainEvolver.Evolve(state, e);
    }

    /// <summary>The car the merge request rides in now: running, or the one it landed with.</summary>
    private Car? CurrentCar(long iid) =>
        state.Cars.FirstOrDefault(c => !c.ImageOnly && c.Mrs.Contains(iid)) ?? (merged.ContainsKey(iid) ? lastCar.GetValueOrDefault(iid) : null);

    private TrainSeat SeatOf(long iid)
    {
        var branch = Key.Branch;
        if (stopped.TryGetValue(iid, out var why)) return new TrainSeat(branch, null, [], null, false, Rejected: why, Stopped: true);
        if (rejected.TryGetValue(iid, out var verdict))
            return new TrainSeat(branch, null, [], null, false, Rejected: verdict,
                Images: rejectedUntested.ContainsKey(iid) ? CarImages.None with { FailedBuild = verdict } : null);
        if (CurrentCar(iid) is not { } car)
        {
            var held = holds.FirstOrDefault(h => h.Mrs.Contains(iid))?.Reason;
            var waiting = state.Queue.Exists(m => m.Iid == iid)
                ? held ?? $"it waits for a place in the train (depth {state.Window})"
                : "it is not in the train";
            return new TrainSeat(branch, null, [], null, false, waiting, Reason: retiredBecause.GetValueOrDefault(iid));
        }
        string? aheadHead = null;
        if (car.Base.Count > 0 && CurrentCar(car.Base[^1]) is { } aheadCar && heads.TryGetValue(car.Base[^1], out var h) && h.CarId == aheadCar.Id)
            aheadHead = h.Sha;
        var pushed = heads.TryGetValue(iid, out var mine) && mine.CarId == car.Id ? mine.Sha : null;
        var reason = retiredBecause.GetValueOrDefault(iid) ?? $"car {car.Base.Count + 1} of the merge train of `{branch}`";
        return new TrainSeat(branch, car.Id, car.Base, aheadHead, car.Base.All(merged.ContainsKey), Reason: reason,
            CarStatus: car.Status.ToString().ToLowerInvariant(), PushedHead: pushed, Images: ImagesOf(car));
    }

    /// <summary>What a car builds and tests on, for an image-aware train (null otherwise: the car checks its images as any attempt).</summary>
    private CarImages? ImagesOf(Car car) => state.Policy is { BuildsOnce: true }
        ? new CarImages(car.Builds, car.TestsOn, [.. car.Builds.Where(state.Pushed.ContainsKey).Select(t => new ImageDigest(t, state.Pushed[t]))])
        : null;

    /// <summary>
    /// Those whose seat changed look again now, rather than at their next poll; the others would only read the same seat
    /// (a backlog of waiting merge requests would otherwise each run a step, GitLab calls and all, at every append).
    /// Never awaited.
    /// </summary>
    private void PokeChanged(IReadOnlyDictionary<long, string> before, IEnumerable<long> justRejected)
    {
        var iids = state.Queue.Select(m => m.Iid).Where(i => before.GetValueOrDefault(i) != Shown(SeatOf(i))).Concat(justRejected).Distinct().ToList();
        foreach (var iid in iids)
            _ = GrainFactory.GetGrain<IMergeRequestGrain>(new MergeRequestKey(Key.ProjectId, iid).ToString()).Poke()
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>A seat as its merge request reads it, lists included (a record compares them by reference).</summary>
    private static string Shown(TrainSeat seat) => $"{seat with { Ahead = [], Images = null }}|{string.Join(',', seat.Ahead)}|{Shown(seat.Images)}";

    private static string Shown(CarImages? images) => images is null ? "" : string.Join(',',
        [.. images.Builds, .. images.TestsOn.Select(d => $"{d.Tag}@{d.Digest}"), "pushed", .. images.Pushed.Select(d => $"{d.Tag}@{d.Digest}"), images.FailedBuild]);
}
