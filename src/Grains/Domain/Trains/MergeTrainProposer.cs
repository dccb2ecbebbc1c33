namespace Orchestrator.Domain.Trains;

/// <summary>
/// GitLab's merge train: the first <c>window</c> waiting merge requests, each tested on top of every one ahead.
/// Serial is a window of one; Zuul's adaptive depth moves the window.
/// </summary>
public static class MergeTrainProposer
{
    public static IEnumerable<Proposal> Propose(TrainView view)
    {
        var ahead = new List<long>();
        foreach (var mr in view.Queue.Take(view.Window))
        {
            yield return new Proposal([mr.Iid], [.. ahead], [],
                $"car {ahead.Count + 1} of a train {view.Window} deep: on top of every merge request ahead");
            ahead.Add(mr.Iid);
        }
    }
}
