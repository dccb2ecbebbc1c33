using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// The bot rewrites the source branch (a rebase, our git's push, a train's push) with its own rights: only for a
/// requester who could have rewritten it, as GitLab's rebase would have judged them.
/// </summary>
public sealed class SourceBranchRewriteTests
{
    private const long UserId = 77, OtherUser = 78;
    private const int Reporter = 20, Developer = 30, Maintainer = 40;

    // t8: Maintainers push, no force push (the black-box test's branch); forced: Developers push and may force push;
    // src/*: Maintainers push and force push (wildcard); named: one user may push and force push; t5 and the rest unprotected.
    private static readonly IReadOnlyList<ProtectedBranchRule> Rules =
    [
        new("main", [new AccessGrant(Maintainer)], [new AccessGrant(Maintainer)], false),
        new("t8", [new AccessGrant(Maintainer)], [new AccessGrant(Maintainer)], false),
        new("forced", [new AccessGrant(Maintainer)], [new AccessGrant(Developer)], true),
        new("src/*", [new AccessGrant(Maintainer)], [new AccessGrant(Maintainer)], true),
        new("named", [new AccessGrant(Maintainer)], [new AccessGrant(null, UserId)], true),
        new("legacy", [new AccessGrant(Maintainer)]),
    ];

    private static PermissionObservation Seen(string source, int level, bool? gitLabSaysProtected) =>
        new("t5", Rules, UserId, level, Source: new SourceBranchObservation(source, InFork: false, Protected: gitLabSaysProtected));

    [Theory]
    [InlineData("feature/x", Developer, false, true)]
    [InlineData("feature/x", Reporter, false, false)]
    [InlineData("t8", Developer, true, false)]
    [InlineData("t8", Maintainer, true, false)]
    [InlineData("forced", Developer, true, true)]
    [InlineData("forced", Reporter, true, false)]
    [InlineData("src/topic", Maintainer, true, true)]
    [InlineData("src/topic", Developer, true, false)]
    [InlineData("named", Developer, true, true)]
    [InlineData("legacy", Maintainer, true, false)]
    // GitLab calls it protected, yet no rule listed matches (a group rule): never judged unprotected.
    [InlineData("other", Maintainer, true, false)]
    // The branch could not be read: not judged unprotected either.
    [InlineData("other", Maintainer, null, false)]
    public void Given_the_source_branch_as_GitLab_shows_it_When_the_bot_would_rewrite_it_Then_only_a_requester_who_could_force_push_is_allowed(
        string source, int level, bool? gitLabSaysProtected, bool allowed)
    {
        var verdict = MergePermission.MayRewriteSource(Seen(source, level, gitLabSaysProtected));
        Assert.Equal(allowed, verdict.Allowed);
        Assert.Contains(source, verdict.Reason);
        if (!allowed) Assert.Equal(MergePermission.RewriteAdvice, verdict.Advice);
    }

    [Fact]
    public void Given_a_push_grant_to_another_user_When_this_user_asks_Then_it_grants_nothing()
    {
        var seen = Seen("named", Developer, true) with { UserId = OtherUser };
        Assert.False(MergePermission.MayRewriteSource(seen).Allowed);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(null, false)]
    public void Given_a_fork_branch_When_the_bot_would_rewrite_it_Then_only_an_unprotected_one_is_open_to_the_target_s_members(
        bool? gitLabSaysProtected, bool allowed)
    {
        // The fork's own word, not the target's rules: t8 is protected upstream but not in this fork.
        var seen = new PermissionObservation("t5", Rules, UserId, Developer,
            Source: new SourceBranchObservation("t8", InFork: true, Protected: gitLabSaysProtected));
        Assert.Equal(allowed, MergePermission.MayRewriteSource(seen).Allowed);
    }

    [Fact]
    public void Given_a_developer_who_may_merge_into_t5_When_the_source_t8_is_maintainers_only_Then_the_request_is_refused_and_says_why()
    {
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        var events = Given(new MergeRequested(1, "@bob", At(0), bob))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, "t5", Seen("t8", Developer, true), [], At(1))).ThenEvents();

        Assert.False(Assert.IsType<PermissionChecked>(events[0]).Allowed);
        var refused = Assert.IsType<RequestRefused>(Assert.Single(events.Skip(1)));
        Assert.Contains("source branch t8 is protected", refused.Reason);
        Assert.Contains("may not push to it", refused.Reason);
        Assert.Equal(MergePermission.RewriteAdvice, refused.Advice);
    }

    /// <summary>Bob's request, allowed when asked, checked again before the rebase on what GitLab shows now.</summary>
    private static IReadOnlyList<IWorkflowEvent> BeforeTheRebase(PermissionObservation seen)
    {
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        IWorkflowEvent[] history = [new MergeRequested(1, "@bob", At(0), bob), .. Rebasing.Skip(1)];
        return Given(history).When(new RecordCheckpoint(PermissionCheckpoint.Rebase, "t5", seen, [], At(2))).ThenEvents();
    }

    [Fact]
    public void Given_a_developer_allowed_at_the_request_When_t8_was_protected_before_the_rebase_Then_the_attempt_fails_before_it()
    {
        var events = BeforeTheRebase(Seen("t8", Developer, true));
        Assert.False(Assert.IsType<PermissionChecked>(events[0]).Allowed);
        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.Equal(WorkflowState.Rebasing, failed.FailedIn);
        Assert.Contains("@bob may no longer merge this: the source branch t8 is protected", failed.Reason);
    }

    [Fact]
    public void Given_a_developer_who_may_force_push_the_source_When_checked_before_the_rebase_Then_it_goes_ahead()
    {
        Assert.True(Assert.IsType<PermissionChecked>(Assert.Single(BeforeTheRebase(Seen("forced", Developer, true)))).Allowed);
    }

    [Fact]
    public void Given_an_observation_recorded_before_source_branches_were_read_When_replayed_Then_it_decides_as_it_did()
    {
        // Old streams hold no source branch: the rule has nothing to judge, so their recorded verdicts replay the same.
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        var old = new PermissionObservation("t5", Rules, UserId, Developer);
        Assert.True(MergePermission.Evaluate(bob, old, [], At(0)).Allowed);
        Assert.False(MergePermission.Evaluate(bob, old with { Source = new("t8", false, true) }, [], At(0)).Allowed);
    }
}
