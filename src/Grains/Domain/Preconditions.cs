namespace Orchestrator.Domain;

/// <summary>One thing a merge request must be before the bot acts on it, with marge-bot's words when it is not.</summary>
/// <param name="Name">How audits and tests refer to it.</param>
/// <param name="Check">The reason it fails (null: it holds), from the MR's facts, the policy's required approvals and the SHA the attempt rebased to.</param>
public sealed record Precondition(string Name, Func<MergeRequestFacts, int, string?, string?> Check);

/// <summary>What a merge request must be at every checkpoint, in the order marge-bot checks them.</summary>
public static class Preconditions
{
    public static readonly IReadOnlyList<Precondition> All =
    [
        new("open", (mr, _, _) => mr.State != "opened" ? $"the merge request is {mr.State}" : null),
        new("not_draft", (mr, _, _) => mr.Draft ? "Sorry, I can't merge requests marked as Draft!" : null),
        new("no_conflicts", (mr, _, _) => mr.HasConflicts ? "the merge request has conflicts with the target branch" : null),
        new("discussions_resolved", (mr, _, _) => mr.BlockingDiscussionsResolved ? null : "Merge request has unresolved discussions"),
        new("fork_allows_collaboration", (mr, _, _) => mr.IsFork && mr.AllowCollaboration != true
            ? "this fork merge request does not allow commits from members who can merge to the target branch" : null),
        new("approved", (mr, required, _) => !mr.ApprovalsSeen ? "the merge request's approvals could not be looked at"
            : mr.ApprovalsLeft > 0 || mr.ApprovalsGiven < required
            ? $"Insufficient approvals (have: {mr.ApprovalsGiven}, need: {Math.Max(required, mr.ApprovalsRequired!.Value)})" : null),
        // The attempt is about exactly one commit: the one the requester asked for, then the one it was rebased to.
        // Anything else on the source branch is someone's push, not the requester's to merge.
        new("source_unchanged", (mr, _, expected) => expected is not null && mr.Sha != expected ? WorkflowDecider.SomeonePushed : null),
    ];

    /// <summary>The first precondition that fails, or null.</summary>
    public static string? FirstFailure(IReadOnlyList<Precondition> rules, MergeRequestFacts mr, int requiredApprovals, string? expectedHead) =>
        rules.Select(r => r.Check(mr, requiredApprovals, expectedHead)).FirstOrDefault(reason => reason is not null);
}
