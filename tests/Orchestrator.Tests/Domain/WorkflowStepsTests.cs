using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;

namespace Orchestrator.Tests.Domain;

/// <summary>The pipeline declared once: every step has its row and its observer, and the decider moves only along the table.</summary>
public sealed class WorkflowStepsTests
{
    [Fact]
    public void Given_the_states_When_compared_with_the_table_and_the_shell_Then_each_active_state_has_one_row_and_one_observer()
    {
        var active = Enum.GetValues<WorkflowState>().Where(s => s.IsActive()).Order().ToList();
        Assert.Equal(active, WorkflowSteps.Table.Select(s => s.State).Order());
        Assert.Equal(active, WorkflowDriver.Observers.Keys.Order());
    }

    [Fact]
    public void Given_a_stream_in_which_every_rule_decides_When_each_decision_is_checked_against_the_table_Then_none_leaves_it()
    {
        var events = RuleMutationTests.Stream().Events;
        var report = WorkflowReplay.Run(events);
        var state = MergeRequestWorkflow.Initial;
        var checkedDecisions = 0;
        foreach (var decision in report.Decisions)
        {
            var after = decision.Recorded.Aggregate(state, WorkflowEvolver.Evolve);
            if (state.IsActive && decision.Inputs is { } command)
            {
                Assert.True(WorkflowSteps.Allows(state.State, command.GetType(), after.State),
                    $"{command.GetType().Name} took {state.State} to {after.State}, which the table does not allow");
                checkedDecisions++;
            }
            state = after;
        }
        Assert.True(checkedDecisions > 50, $"only {checkedDecisions} decisions were checked");
    }

    [Fact]
    public void Given_the_table_When_a_state_would_jump_past_its_next_Then_it_is_not_allowed() =>
        Assert.False(WorkflowSteps.Allows(WorkflowState.Queued, typeof(StartRebase), WorkflowState.Merging));
}
