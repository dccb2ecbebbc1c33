using Orchestrator.Domain;
using Orchestrator.Grains;

namespace Orchestrator.Api.Queues;

/// <summary>
/// One car as the API and the operations page show it: the train's word on it (what it is tested on top of, the
/// speculative head it pushed, its status) beside its merge request's own (its pipeline, its state, what it waits for).
/// </summary>
/// <param name="Ahead">The merge requests the car is tested on top of, in order; empty: on the target branch itself.</param>
/// <param name="Head">The speculative head pushed for this car; null until pushed.</param>
/// <param name="Status">The planner's word: running, passed, failed.</param>
/// <param name="WaitsFor">What the merge request waits for now, from its own recorded state.</param>
public sealed record TrainCarResponse(string CarId, long Iid, int Position, IReadOnlyList<long> Ahead, string? Head, string Status,
    long? PipelineId, string State, string WaitsFor, string? Title = null, string? WebUrl = null);

/// <summary>A branch's merge train: its cars in order, who waits for a car, which merge requests landed, and whether replay re-plans every plan alike.</summary>
public sealed record TrainResponse(long ProjectId, string Branch, IReadOnlyList<TrainCarResponse> Cars, IReadOnlyList<long> Waiting,
    IReadOnlyList<long> Landed, bool Consistent, int Plans, IReadOnlyList<string> Retired)
{
    /// <summary>The train's view, each car completed from its merge request's grain (riding ones are active already).</summary>
    public static async Task<TrainResponse> ReadAsync(IGrainFactory grains, MergeQueueKey key)
    {
        var train = await grains.GetGrain<ITrainGrain>(key.ToString()).GetTrain();
        var cars = new List<TrainCarResponse>();
        foreach (var car in train.Cars)
        {
            var s = (await grains.GetGrain<IMergeRequestGrain>(new MergeRequestKey(key.ProjectId, car.Iid).ToString()).GetSnapshot()).Workflow;
            cars.Add(new TrainCarResponse(car.CarId, car.Iid, car.Ahead.Count + 1, car.Ahead, car.Head, car.Status,
                s.PipelineId, s.State.ToWireName(), TrainCarWaits.Of(s)));
        }
        return new TrainResponse(key.ProjectId, train.Branch, cars, train.Waiting, train.Landed, train.Consistent, train.Plans, train.Retired);
    }
}
