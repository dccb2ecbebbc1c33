using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Workflow;
using Xunit;

namespace Orchestrator.Tests.Shell;

/// <summary>What the observer reads about the source branch the bot may rewrite, from which project.</summary>
public sealed class PermissionObserverTests
{
    private const long Target = 1, Fork = 2, Bob = 11;
    private static readonly Requester BobAssigned = Requester.Person(TriggerKind.Assignment, "bob", Bob);

    private static FakeGitLab GitLab()
    {
        var gitlab = new FakeGitLab();
        gitlab.Members[Bob] = new GitLabMember(Bob, "bob", 30, State: "active");
        gitlab.ProtectedBranches[Target] =
        [
            new GitLabProtectedBranch(1, "t8", [new GitLabAccessLevel(40, null, null)], [new GitLabAccessLevel(40, null, null)], AllowForcePush: false),
        ];
        gitlab.BranchesByName[(Target, "t5")] = new GitLabBranch("t5", new("c1"), Protected: false);
        return gitlab;
    }

    [Fact]
    public async Task Given_a_source_branch_in_the_target_project_When_observed_Then_its_push_rules_come_from_the_same_list()
    {
        var gitlab = GitLab();
        gitlab.BranchesByName[(Target, "t8")] = new GitLabBranch("t8", new("c2"), Protected: true);

        var seen = await new PermissionObserver(gitlab).ObserveAsync(BobAssigned, Target, "t5", default, (Target, "t8", null));

        Assert.Equal(new SourceBranchObservation("t8", InFork: false, Protected: true), seen!.Source);
        var rule = Assert.Single(seen.Rules);
        Assert.Equal(40, Assert.Single(rule.PushAccess!).AccessLevel);
        Assert.False(rule.AllowForcePush);
        Assert.False(MergePermission.Evaluate(BobAssigned, seen, [], DateTimeOffset.UnixEpoch).Allowed);
        // Without the source, Bob may merge into the unprotected t5.
        Assert.True(MergePermission.Evaluate(BobAssigned, seen with { Source = null }, [], DateTimeOffset.UnixEpoch).Allowed);
    }

    [Fact]
    public async Task Given_a_fork_source_branch_When_observed_Then_only_the_fork_s_branch_is_read_not_its_rules()
    {
        // No rule list of the fork is known to the fake: reading one would throw (the bot need not be a member there).
        var gitlab = GitLab();
        gitlab.BranchesByName[(Fork, "t8")] = new GitLabBranch("t8", new("c3"), Protected: false);

        var seen = await new PermissionObserver(gitlab).ObserveAsync(BobAssigned, Target, "t5", default, (Fork, "t8", true));

        Assert.Equal(new SourceBranchObservation("t8", InFork: true, Protected: false, AllowCollaboration: true), seen!.Source);
        Assert.True(MergePermission.Evaluate(BobAssigned, seen, [], DateTimeOffset.UnixEpoch).Allowed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(null)]
    public async Task Given_a_fork_MR_not_open_to_collaboration_When_observed_Then_the_observation_says_so_and_the_rewrite_is_refused(bool? allowCollaboration)
    {
        var gitlab = GitLab();
        gitlab.BranchesByName[(Fork, "t8")] = new GitLabBranch("t8", new("c3"), Protected: false);

        var seen = await new PermissionObserver(gitlab).ObserveAsync(BobAssigned, Target, "t5", default, (Fork, "t8", allowCollaboration));

        Assert.Equal(allowCollaboration, seen!.Source!.AllowCollaboration);
        Assert.False(MergePermission.Evaluate(BobAssigned, seen, [], DateTimeOffset.UnixEpoch).Allowed);
    }

    [Fact]
    public async Task Given_a_same_project_source_When_observed_Then_no_allow_collaboration_is_recorded_as_GitLab_shows_none()
    {
        var gitlab = GitLab();
        gitlab.BranchesByName[(Target, "t9")] = new GitLabBranch("t9", new("c4"), Protected: false);
        var seen = await new PermissionObserver(gitlab).ObserveAsync(BobAssigned, Target, "t5", default, (Target, "t9", true));
        Assert.Null(seen!.Source!.AllowCollaboration);
        Assert.True(MergePermission.Evaluate(BobAssigned, seen, [], DateTimeOffset.UnixEpoch).Allowed);
    }

    [Fact]
    public async Task Given_no_source_asked_for_When_observed_Then_no_source_branch_is_read()
    {
        // Only t5 is known to the fake: a read of any other branch would throw.
        var seen = await new PermissionObserver(GitLab()).ObserveAsync(BobAssigned, Target, "t5", default);
        Assert.Null(seen!.Source);
    }
}
