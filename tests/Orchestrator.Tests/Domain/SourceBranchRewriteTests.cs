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

    /// <summary>A fork's branch t8 (protected upstream, which says nothing about the fork) as GitLab shows it.</summary>
    private static PermissionObservation Fork(bool? gitLabSaysProtected, bool? allowCollaboration, int level = Developer) =>
        new("t5", Rules, UserId, level, Source: new SourceBranchObservation("t8", InFork: true, Protected: gitLabSaysProtected, AllowCollaboration: allowCollaboration));

    [Theory]
    [InlineData(false, true, true)]
    [InlineData(true, true, false)]
    [InlineData(null, true, false)]
    // GitLab's collaboration grant is the only way in: without allow_collaboration no one of the target may push there,
    // whatever rights the bot itself has in the fork (a member there could push, and must not be the reason).
    [InlineData(false, false, false)]
    [InlineData(false, null, false)]
    public void Given_a_fork_branch_When_the_bot_would_rewrite_it_Then_only_an_unprotected_one_open_to_collaboration_is_allowed(
        bool? gitLabSaysProtected, bool? allowCollaboration, bool allowed)
    {
        var verdict = MergePermission.MayRewriteSource(Fork(gitLabSaysProtected, allowCollaboration));
        Assert.Equal(allowed, verdict.Allowed);
        if (!allowed) Assert.Equal(MergePermission.RewriteAdvice, verdict.Advice);
        if (gitLabSaysProtected is false && !allowed) Assert.Contains("allow_collaboration", verdict.Reason);
    }

    [Fact]
    public void Given_a_fork_open_to_collaboration_When_the_requester_may_not_merge_into_the_target_Then_collaboration_does_not_let_them_push()
    {
        // GitLab's branch_allows_collaboration? grants the push only to whoever may merge the MR (can_be_merged_by?).
        var verdict = MergePermission.MayRewriteSource(Fork(false, true, Reporter));
        Assert.False(verdict.Allowed);
        Assert.Contains("only to those who may merge into t5", verdict.Reason);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public void Given_a_fork_MR_When_checked_at_the_request_Then_it_goes_ahead_only_while_it_allows_collaboration(bool allowCollaboration, int events)
    {
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        var decided = Given(new MergeRequested(1, "@bob", At(0), bob))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, "t5", Fork(false, allowCollaboration), [], At(1))).ThenEvents();

        Assert.Equal(allowCollaboration, Assert.IsType<PermissionChecked>(decided[0]).Allowed);
        Assert.Equal(events, decided.Count);
        if (!allowCollaboration) Assert.Contains("allow_collaboration", Assert.IsType<RequestRefused>(decided[1]).Reason);
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
    public void Given_a_request_When_the_source_branch_was_not_read_Then_it_is_refused_not_waved_through()
    {
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        var unread = new PermissionObservation("t5", Rules, UserId, Developer);
        var events = Given(new MergeRequested(1, "@bob", At(0), bob))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, "t5", unread, [], At(1))).ThenEvents();

        Assert.False(Assert.IsType<PermissionChecked>(events[0]).Allowed);
        var refused = Assert.IsType<RequestRefused>(Assert.Single(events.Skip(1)));
        Assert.Contains("source branch was not read before the request", refused.Reason);
        Assert.Equal(MergePermission.RewriteAdvice, refused.Advice);
    }

    [Fact]
    public void Given_a_developer_allowed_at_the_request_When_the_source_was_not_read_before_the_rebase_Then_the_attempt_fails_before_it()
    {
        var events = BeforeTheRebase(new PermissionObservation("t5", Rules, UserId, Developer));
        Assert.False(Assert.IsType<PermissionChecked>(events[0]).Allowed);
        Assert.Contains("source branch was not read before the rebase", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Theory]
    [InlineData(PermissionCheckpoint.Pipeline)]
    [InlineData(PermissionCheckpoint.Merge)]
    public void Given_a_checkpoint_that_pushes_nothing_to_the_source_When_it_was_not_read_Then_the_requester_is_judged_on_the_target_alone(PermissionCheckpoint checkpoint)
    {
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        IWorkflowEvent[] history = [new MergeRequested(1, "@bob", At(0), bob), .. (checkpoint == PermissionCheckpoint.Merge ? Merging : Building).Skip(1)];
        var events = Given(history).When(new RecordCheckpoint(checkpoint, "t5", new PermissionObservation("t5", Rules, UserId, Developer), [], At(40))).ThenEvents();
        Assert.True(Assert.IsType<PermissionChecked>(Assert.Single(events)).Allowed);
    }

    [Fact]
    public void Given_an_API_token_on_its_own_authority_When_the_request_is_checked_Then_no_source_branch_is_needed()
    {
        var events = Given(new MergeRequested(1, "ci-bot", At(0), Requester.ApiToken("ci-bot")))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, "t5", null, [], At(1))).ThenEvents();
        Assert.True(Assert.IsType<PermissionChecked>(Assert.Single(events)).Allowed);
    }

    [Fact]
    public void Given_a_request_recorded_under_an_older_rule_book_without_a_source_When_replayed_Then_it_says_the_rules_changed()
    {
        // The rule (Evaluate) has nothing to judge in such an observation; the decider refuses it now, and says why it differs.
        var bob = Requester.Person(TriggerKind.Assignment, "bob", UserId);
        var old = new PermissionObservation("t5", Rules, UserId, Developer);
        Assert.True(MergePermission.Evaluate(bob, old, [], At(0)).Allowed);
        Assert.False(MergePermission.Evaluate(bob, old with { Source = new("t8", false, true) }, [], At(0)).Allowed);
        IWorkflowEvent[] stream =
        [
            new MergeRequested(1, "@bob", At(0), bob),
            new PermissionChecked(1, PermissionCheckpoint.Request, 0, bob, old, [], true, "t5 is not protected and the requester is a Developer", At(1), "t5"),
        ];
        var replay = WorkflowReplay.Run([.. stream.Select(e => (e, (int?)(WorkflowRules.Version - 1)))]);
        Assert.Contains(replay.Decisions, d => d.Verdict == "rules_changed");
        Assert.DoesNotContain(replay.Decisions, d => d.Verdict == "differs");
    }
}
