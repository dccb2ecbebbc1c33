namespace Orchestrator.Domain.Trains;

/// <summary>
/// bors: the waiting merge requests in groups of up to the batch size, one car per group, each on top of the groups
/// ahead, as many cars as the window. A group already in a car stays as it is (merge requests that joined later wait
/// for the next batch); a merge request from a failed batch goes in groups no larger than its cap.
/// </summary>
public static class BatchProposer
{
    public static IEnumerable<Proposal> Propose(TrainView view)
    {
        var ahead = new List<long>();
        for (var (i, cars) = (0, 0); i < view.Queue.Count && cars < view.Window; cars++)
        {
            var group = Existing(view, i, ahead) ?? NewGroup(view, i);
            var capped = group.Count > 0 && view.Caps.ContainsKey(group[0]);
            yield return new Proposal(group, [.. ahead], [],
                $"batch {cars + 1} of {group.Count}" + (capped ? $" (bisected: groups of at most {view.Caps[group[0]]})" : ""));
            ahead.AddRange(group);
            i += group.Count;
        }
    }

    private static List<long>? Existing(TrainView view, int start, IReadOnlyList<long> ahead)
    {
        foreach (var car in view.Cars)
        {
            if (car.Mrs.Count == 0 || car.Mrs[0] != view.Queue[start].Iid || start + car.Mrs.Count > view.Queue.Count) continue;
            var group = view.Queue.Skip(start).Take(car.Mrs.Count).Select(m => m.Iid).ToList();
            if (group.SequenceEqual(car.Mrs) && view.Existing(new Proposal(group, ahead, [], "")) is not null) return group;
        }
        return null;
    }

    private static List<long> NewGroup(TrainView view, int start)
    {
        var group = new List<long>();
        var limit = view.Policy.BatchSize;
        for (var i = start; i < view.Queue.Count; i++)
        {
            var cap = view.Caps.GetValueOrDefault(view.Queue[i].Iid, int.MaxValue);
            if (group.Count >= Math.Min(limit, cap)) break;
            limit = Math.Min(limit, cap);
            group.Add(view.Queue[i].Iid);
        }
        return group;
    }
}
