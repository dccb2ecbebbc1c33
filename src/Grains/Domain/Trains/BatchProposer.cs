namespace Orchestrator.Domain.Trains;

/// <summary>
/// bors: the waiting merge requests in groups of up to the batch size, one car per group, each on top of the groups
/// ahead, as many cars as the budget. A merge request from a failed batch goes in groups no larger than its cap.
/// </summary>
public static class BatchProposer
{
    public static IEnumerable<Proposal> Propose(TrainView view)
    {
        var ahead = new List<long>();
        var cars = 0;
        for (var i = 0; i < view.Queue.Count && cars < view.Window; cars++)
        {
            var group = new List<long>();
            var limit = view.Policy.BatchSize;
            for (; i < view.Queue.Count; i++)
            {
                var cap = view.Caps.GetValueOrDefault(view.Queue[i].Iid, int.MaxValue);
                if (group.Count >= Math.Min(limit, cap)) break;
                limit = Math.Min(limit, cap);
                group.Add(view.Queue[i].Iid);
            }
            yield return new Proposal(group, [.. ahead], [],
                $"batch {cars + 1} of {group.Count}" + (limit < view.Policy.BatchSize ? $" (bisected: groups of at most {limit})" : ""));
            ahead.AddRange(group);
        }
    }
}
