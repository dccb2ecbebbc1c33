namespace Orchestrator.Domain.Trains;

/// <summary>
/// SubmitQueue's speculation: every waiting merge request could be tested on any outcome of those ahead of it; the
/// work worth most is the one most likely to be needed. Walks that tree best first: a node is a merge request with an
/// assumption (lands or not) about each one ahead, worth the chance those assumptions all come true. A verdict already
/// in (a car that passed or failed on exactly those assumptions) replaces the prediction, so a failure not yet on the
/// real branch already steers the budget to the paths without it.
/// </summary>
public static class BestFirstProposer
{
    private sealed record Node(int Index, IReadOnlyList<long> Base, IReadOnlyList<long> Excluded, double Chance);

    public static IEnumerable<Proposal> Propose(TrainView view)
    {
        if (view.Queue.Count == 0) yield break;
        var frontier = new PriorityQueue<Node, (double, int, long)>();
        long order = 0;
        void Push(Node n) => frontier.Enqueue(n, (-n.Chance, n.Index, order++));
        Push(new Node(0, [], [], 1.0));
        while (frontier.TryDequeue(out var node, out _))
        {
            var mr = view.Queue[node.Index];
            var proposal = new Proposal([mr.Iid], node.Base, node.Excluded,
                $"best first: needed with chance {node.Chance:0.###}" + (node.Excluded.Count > 0 ? $" (if {Ids(node.Excluded)} fail)" : ""));
            yield return proposal;
            if (node.Index + 1 >= view.Queue.Count) continue;
            var lands = view.Existing(proposal)?.Status switch
            {
                CarStatus.Passed => 1.0,
                CarStatus.Failed => 0.0,
                _ => Math.Clamp(mr.PredictedSuccess, 0, 1),
            };
            if (lands > 0) Push(new Node(node.Index + 1, [.. node.Base, mr.Iid], node.Excluded, node.Chance * lands));
            if (lands < 1) Push(new Node(node.Index + 1, node.Base, [.. node.Excluded, mr.Iid], node.Chance * (1 - lands)));
        }
    }

    private static string Ids(IEnumerable<long> iids) => string.Join(", ", iids.Select(i => $"!{i}"));
}
