using Orchestrator.Domain;

namespace Orchestrator.Statistics;

/// <summary>
/// A failed attempt's reason in a few words, for counting: the decider's reasons are sentences with SHAs, job names and
/// GitLab's messages in them, so no two would group. The known openings are the decider's own; anything else is
/// counted by the step it failed in.
/// </summary>
public static class FailureClass
{
    private static readonly (string Opening, string Class)[] Known =
    [
        ("CI failed", "CI failed"),
        ("Someone canceled the CI", "CI cancelled"),
        ("CI is taking too long", "CI timed out"),
        ("CI was skipped", "CI skipped"),
        ("CI is waiting on the manual job", "CI blocked on manual jobs"),
        ("Merge conflict", "merge conflict"),
        (WorkflowDecider.SomeonePushed, "target moved"),
        ("GitLab refused the merge", "merge refused"),
        ("The images could not be verified", "images not verified"),
        ("The pipeline succeeded but did not build", "images not verified"),
        ("Image ", "images not verified"),
    ];

    public static string Of(AttemptFailed failure)
    {
        foreach (var (opening, name) in Known)
            if (failure.Reason.StartsWith(opening, StringComparison.Ordinal)) return name;
        if (failure.Reason.Contains("step made no progress", StringComparison.Ordinal)) return "step timed out";
        if (failure.Reason.Contains("may no longer merge", StringComparison.Ordinal)) return "not allowed";
        return $"failed while {failure.FailedIn.ToWireName()}";
    }
}
