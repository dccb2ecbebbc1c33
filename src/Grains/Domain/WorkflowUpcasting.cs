namespace Orchestrator.Domain;

/// <summary>
/// Events as today's decider records them, from events stored by earlier versions. Stored streams are never rewritten:
/// an older event is read, then brought up to date here, so replay compares like with like. New fields that older
/// events lack are nullable and mean "not recorded then"; only where today's decider always records a field does an
/// older event get it filled in, with what its other fields imply.
/// </summary>
public static class WorkflowUpcasting
{
    public static IWorkflowEvent Upcast(IWorkflowEvent e) => e switch
    {
        // Before rebase facts were recorded, a Rebased event meant the head was seen on top of the target.
        Rebased { Facts: null } r => r with { Facts = RecordRebase.Landed(r.RebasedSha, r.TargetSha, r.At).Facts },
        // Before refusals carried their advice, the only reason with advice of its own was a note command from someone unlisted.
        RequestRefused { Advice: null } r when r.Reason.Contains("commands by note", StringComparison.Ordinal) => r with { Advice = Outcomes.CommandAdvice },
        _ => e,
    };
}
