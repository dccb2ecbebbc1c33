namespace Orchestrator.Domain;

/// <summary>The merge request as an ended attempt finds it: the fields the outcome's choices read, nothing else.</summary>
/// <remarks>
/// <see cref="AuthorIsBot"/>: the bot wrote it itself, so it cannot go back to its author; <see cref="BotAssigned"/>: unassigning
/// the bot changes something; <see cref="TriggerLabelOn"/>: the policy's trigger label is on it.
/// </remarks>
public sealed record OutcomeFacts(
    string State,
    long AuthorId,
    string AuthorUsername,
    bool AuthorIsBot,
    bool BotAssigned,
    bool TriggerLabelOn,
    string TargetBranch,
    long TargetProjectId,
    string? WebUrl);

/// <summary>What the end of an attempt does on the merge request, decided before anything is done.</summary>
/// <param name="UnassignBot">Take the bot off the assignees, leaving the others.</param>
/// <param name="AssignTo">Hand the merge request to these people (replacing the assignees); null leaves them.</param>
/// <param name="RemoveLabel">The trigger label to take off; null leaves the labels.</param>
/// <param name="Note">The outcome's note; null: none, by policy (GitLab's own system note says it merged).</param>
public sealed record OutcomeActions(bool UnassignBot, IReadOnlyList<long>? AssignTo, string? RemoveLabel, string? Note);

/// <summary>
/// How an attempt ends on the merge request: who gets it back, what is taken back from a refused trigger, and the
/// note that says why, in marge-bot's habits. Pure, so every ending is a table of facts and answers in the tests.
/// </summary>
public static class Outcomes
{
    public static OutcomeActions For(MergeRequestWorkflow s, OutcomeFacts mr, ProjectPolicy policy)
    {
        var open = mr.State == "opened";
        switch (s.State)
        {
            case WorkflowState.Completed:
                return new OutcomeActions(policy.UnassignOnMerge && mr.BotAssigned, null, null, policy.NoteOnSuccess ? Note(s, mr, undone: null) : null);
            case WorkflowState.Failed when open:
                // Back to the author, as marge-bot does; an MR the bot wrote goes to the human who asked, else nobody keeps the bot.
                if (!mr.AuthorIsBot) return new OutcomeActions(false, [mr.AuthorId], null, Note(s, mr, null));
                if (s.Requester?.UserId is { } asker) return new OutcomeActions(false, [asker], null, Note(s, mr, null));
                return new OutcomeActions(mr.BotAssigned, null, null, Note(s, mr, null));
            case WorkflowState.Refused when open && s.Requester is { Trigger: not (TriggerKind.Api or TriggerKind.Note) }:
                // What made the bot act for someone who may not merge is taken back, so reconciliation does not retry it.
                return TakeBackTriggers(s, mr, policy);
            case WorkflowState.Cancelled when open:
                // A cancelled merge request must not look queued: a bot left assigned (a cancel through the API, or the
                // label taken off) or a label left on reads as "the bot is on it" to everyone, and nothing will happen.
                return TakeBackTriggers(s, mr, policy);
            default:
                return new OutcomeActions(false, null, null, Note(s, mr, null));
        }
    }

    /// <summary>
    /// Both triggers go, whichever fired: a label added in the same edit as an assignment would otherwise leave the merge
    /// request looking queued. The note says what was taken back.
    /// </summary>
    private static OutcomeActions TakeBackTriggers(MergeRequestWorkflow s, OutcomeFacts mr, ProjectPolicy policy)
    {
        var label = policy.TriggerLabel is { } l && mr.TriggerLabelOn ? l : null;
        var undone = new[] { mr.BotAssigned ? "unassigned myself" : null, label is null ? null : $"removed the ~\"{label}\" label" }
            .OfType<string>().ToList();
        return new OutcomeActions(mr.BotAssigned, null, label, Note(s, mr, undone.Count > 0 ? string.Join(" and ", undone) : null));
    }

    /// <summary>Said to whoever asked, when the person behind the request may not have the bot merge for them.</summary>
    public static string RefusalAdvice(string targetBranch) =>
        $"Only someone who may merge into `{targetBranch}` can ask me to merge it: ask one of them.";

    /// <summary>Said when a merge command by note came from someone the project does not list.</summary>
    public const string CommandAdvice = "Assign me instead, or ask someone the project lists to command merges.";

    private static string Note(MergeRequestWorkflow s, OutcomeFacts mr, string? undone) => s.State switch
    {
        WorkflowState.Refused =>
            $"{Addressee(s.Requester, mr)}, I can't merge this merge request for you: {s.Outcome}." +
            (undone is null ? "" : $" I have {undone}.") + " " + (s.RefusalAdvice ?? RefusalAdvice(mr.TargetBranch)),
        WorkflowState.Completed =>
            $"Merged as {s.MergeCommitSha}: pipeline {s.PipelineId} passed on the rebased commit {s.RebasedSha}." +
            (s.Promotions.Count > 0 ? " Promoted: " + string.Join(", ", s.Promotions.Select(p => $"{p.Repository}/{p.Name}:{p.Tag}@{p.Digest}")) + "."
             : s.BuiltImages.Count > 0 ? $" Tested on, and now `{s.TargetBranch ?? mr.TargetBranch}`'s: " + string.Join(", ", s.BuiltImages.Select(b => $"{b.Name}:{b.Tag}@{b.Digest}")) + "." : "")
            + Ride(s),
        WorkflowState.Cancelled => $"Merge cancelled: {s.Outcome}." + (undone is null ? "" : $" I have {undone}."),
        // Before the branch was ours nothing was done for the request: the MR was merged before the bot could act on it.
        WorkflowState.MergedElsewhere when s.Rebases == 0 => $"This merge request was already {s.Outcome}, so there was nothing for me to do.",
        WorkflowState.MergedElsewhere => $"This merge request was {s.Outcome} while I was working on it, so I stopped" +
            (s.PipelineId is { } p ? $" (my pipeline {p} is cancelled if it was still running)." : "."),
        _ => $"I couldn't merge this merge request: {s.Outcome}" + PipelineLink(s, mr) + Ride(s) + "\n\n" +
             "Fix what is said above, then ask again (assign me, or enqueue it through the orchestrator's API).",
    };

    /// <summary>Which car of its branch's merge train the attempt rode, when it rode one.</summary>
    private static string Ride(MergeRequestWorkflow s) => s.Car is { CarId: not null } car ? " " + car.Ride() : "";

    /// <summary>Where to read why our pipeline failed: its page, in the project it ran in (GitLab's URL scheme, from the MR's own URL).</summary>
    private static string PipelineLink(MergeRequestWorkflow s, OutcomeFacts mr) =>
        s.PipelineId is { } id && s.PipelineStatus is "failed" or "canceled" && mr.WebUrl?.IndexOf("/-/merge_requests/", StringComparison.Ordinal) is > 0 and var at
            && (s.PipelineProjectId ?? mr.TargetProjectId) == mr.TargetProjectId
            ? $" See pipeline {id}: {mr.WebUrl![..at]}/-/pipelines/{id}"
            : "";

    /// <summary>Who a refusal is addressed to: the requester by name, or the author when an open hook named only their id.</summary>
    private static string Addressee(Requester? requester, OutcomeFacts mr) =>
        requester is { Username: null, UserId: { } id } && id == mr.AuthorId ? $"@{mr.AuthorUsername}" : requester?.Display ?? "Hello";
}
