using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.Tests.Docs;

/// <summary>Users read <c>/events</c> with the README's table at hand: an event added without a row there is a gap in it.</summary>
public sealed class ReadmeEventsTests
{
    [Fact]
    public void Given_every_stored_event_name_When_the_readme_is_read_Then_its_event_table_has_a_row_naming_it()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) dir = dir.Parent!;
        var rows = File.ReadAllLines(Path.Combine(dir.FullName, "README.md"))
            .SkipWhile(l => l != "| event | recorded when |").TakeWhile(l => l.StartsWith('|')).ToList();

        Assert.NotEmpty(rows);
        Assert.All(WorkflowEventNames.All.Values, name => Assert.Contains(rows, r => r.Split('|')[1].Contains($"`{name}`")));
    }
}
