using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A snapshot taken while another merge request's guarded pipeline ran may hold what that pipeline planted as "before":
/// restores after it delete the tag rather than give it back a digest no record can vouch for.
/// </summary>
public sealed class GuardedWindowsTests
{
    private static readonly VerificationEvidence Nothing = new("mesa/mesa", [], [], [], []);

    private static (string, IWorkflowEvent) Prepared(string stream, int minute) => (stream, new PipelinePrepared(1, [], [], At(minute), true));
    private static (string, IWorkflowEvent) Read(string stream, int minute) => (stream, new RegistryChecked(1, 1, 1, Pipeline, "failed", Nothing, At(minute)));
    private static (string, IWorkflowEvent) Verified(string stream, int minute) => (stream, new BuildVerified(1, TargetSha, [], At(minute), Nothing));

    [Fact]
    public void Given_other_streams_guarded_pipelines_When_asked_who_ran_at_a_moment_Then_only_windows_open_then_are_named()
    {
        (string, IWorkflowEvent)[] events =
        [
            Prepared("mr-12-1", 1),                      // open since minute 1
            Prepared("mr-12-2", 1), Read("mr-12-2", 3),  // closed at minute 3
            Prepared("mr-12-3", 1), Verified("mr-12-3", 4), Prepared("mr-12-3", 6), // closed, opened again at minute 6
            Prepared("mr-12-4", 8),                      // opened after the moment
            ("mr-12-5", new MergeRequested(1, "marge", At(0))),
        ];

        Assert.Equal(["mr-12-1", "mr-12-3"], GuardedWindows.OpenAt(events, At(7)));
        Assert.Equal(["mr-12-1", "mr-12-2", "mr-12-3"], GuardedWindows.OpenAt(events, At(2)));
        Assert.Empty(GuardedWindows.OpenAt(events, At(0)));
    }

    [Fact]
    public void Given_restores_When_the_snapshot_overlapped_another_window_Then_each_deletes_and_otherwise_they_stand()
    {
        TagRestore[] restores = [new("mesa/mesa/img", "base", "sha256:before", "sha256:found"), new("mesa/mesa/img", "new", null, "sha256:planted")];

        Assert.Equal(restores, GuardedWindows.Distrust(restores, null));
        Assert.Equal(restores, GuardedWindows.Distrust(restores, []));
        Assert.All(GuardedWindows.Distrust(restores, ["mr-12-1"]), r => Assert.Null(r.Before));
    }
}
