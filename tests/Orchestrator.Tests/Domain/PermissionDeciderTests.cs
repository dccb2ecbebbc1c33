using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>Who may make the bot merge: trigger × role × branch, decided from what GitLab said, as GitLab would decide.</summary>
public sealed class PermissionDeciderTests
{
    private const long UserId = 77;
    private const int Guest = 10, Reporter = 20, Developer = 30, Maintainer = 40, NotAMember = 0;

    // main: Maintainers only (exact rule); release/*: Maintainers only (wildcard); anything else unprotected.
    private static readonly IReadOnlyList<ProtectedBranchRule> Rules =
    [
        new("main", [new AccessGrant(Maintainer)]),
        new("release/*", [new AccessGrant(Maintainer)]),
    ];

    public static TheoryData<TriggerKind, int, string, bool> Table()
    {
        var data = new TheoryData<TriggerKind, int, string, bool>();
        TriggerKind[] triggers = [TriggerKind.Assignment, TriggerKind.Label, TriggerKind.Note, TriggerKind.ReconciledAssignment, TriggerKind.ReconciledLabel, TriggerKind.Api];
        foreach (var trigger in triggers)
            foreach (var role in new[] { Guest, Reporter, Developer, Maintainer, NotAMember })
                foreach (var branch in new[] { "main", "release/1.0", "feature/x" })
                    data.Add(trigger, role, branch, branch == "feature/x" ? role >= Developer : role >= Maintainer);
        return data;
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void Given_a_request_by_a_person_When_GitLab_describes_their_role_and_the_branch_Then_only_who_may_merge_is_allowed(
        TriggerKind trigger, int role, string branch, bool allowed)
    {
        var requester = trigger == TriggerKind.Api ? Requester.ApiUser("pat", UserId) : Requester.Person(trigger, "pat", UserId);
        // The request may rewrite the source branch, so it is read too: here an unprotected one anyone who may merge may push to.
        var seen = new PermissionObservation(branch, Rules, UserId, role, Source: new SourceBranchObservation("topic", InFork: false, Protected: false));
        // Commands by note are enabled for developers and up: the list narrows, and here it narrows nothing the branch allows.
        var events = Given(new MergeRequested(1, "pat", At(0), requester))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, branch, seen, ["developer"], At(1))).ThenEvents();

        var check = Assert.IsType<PermissionChecked>(events[0]);
        Assert.Equal(allowed, check.Allowed);
        Assert.Same(seen, check.Observation);
        if (allowed) Assert.Single(events);
        else
        {
            var refused = Assert.IsType<RequestRefused>(Assert.Single(events.Skip(1)));
            Assert.Contains(branch, refused.Reason);
        }
    }

    [Fact]
    public void Given_an_API_token_acting_on_its_own_authority_When_checked_Then_it_is_allowed_without_asking_GitLab()
    {
        var state = Given(new MergeRequested(1, "ci-bot", At(0), Requester.ApiToken("ci-bot")))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, "main", null, [], At(1)))
            .Then(new PermissionChecked(1, PermissionCheckpoint.Request, 0, Requester.ApiToken("ci-bot"), null, [], true,
                "an API token acting on its own scope and projects", At(1), "main"));
        Assert.Equal(WorkflowState.Queued, state.State);
        Assert.True(state.PermissionChecked(PermissionCheckpoint.Request));
    }

    [Fact]
    public void Given_a_wildcard_rule_When_a_nested_branch_is_matched_Then_the_rule_applies_as_in_GitLab()
    {
        Assert.True(MergePermission.Matches("release/*", "release/1.0"));
        Assert.True(MergePermission.Matches("release/*", "release/a/b"));
        Assert.True(MergePermission.Matches("*-stable", "mesa-25.0-stable"));
        Assert.False(MergePermission.Matches("release/*", "releases/1.0"));
        Assert.False(MergePermission.Matches("main", "main2"));
        Assert.False(MergePermission.Matches("re.ease/*", "release/1"));
    }

    [Fact]
    public void Given_two_matching_rules_When_one_lets_developers_merge_Then_the_most_permissive_wins()
    {
        var seen = new PermissionObservation("main", [new("main", [new AccessGrant(Maintainer)]), new("ma*", [new AccessGrant(Developer)])], UserId, Developer);
        Assert.True(MergePermission.MayMerge(seen).Allowed);
    }

    [Fact]
    public void Given_a_rule_that_names_a_user_When_that_user_asks_Then_they_may_merge_whatever_their_role()
    {
        var rules = new List<ProtectedBranchRule> { new("main", [new AccessGrant(Maintainer), new AccessGrant(null, UserId)]) };
        Assert.True(MergePermission.MayMerge(new PermissionObservation("main", rules, UserId, Developer)).Allowed);
        Assert.False(MergePermission.MayMerge(new PermissionObservation("main", rules, UserId + 1, Developer)).Allowed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(60)]
    public void Given_a_rule_that_lets_no_one_or_only_admins_merge_When_an_owner_asks_Then_they_are_refused(int level)
    {
        var rules = new List<ProtectedBranchRule> { new("main", [new AccessGrant(level)]) };
        Assert.False(MergePermission.MayMerge(new PermissionObservation("main", rules, UserId, 50)).Allowed);
    }

    [Fact]
    public void Given_a_group_grant_When_a_member_asks_Then_it_grants_nothing_because_group_membership_is_not_observed()
    {
        var rules = new List<ProtectedBranchRule> { new("main", [new AccessGrant(null, null, 9)]) };
        Assert.False(MergePermission.MayMerge(new PermissionObservation("main", rules, UserId, Maintainer)).Allowed);
    }

    [Theory]
    [InlineData("maintainer", Developer, false)]
    [InlineData("maintainer", Maintainer, true)]
    [InlineData("pat", Developer, true)]
    [InlineData("someone-else", Maintainer, false)]
    public void Given_allowed_commanders_When_a_note_commands_a_merge_Then_the_list_narrows_but_never_widens(string commander, int role, bool allowed)
    {
        var seen = new PermissionObservation("feature/x", Rules, UserId, role);
        var verdict = MergePermission.Evaluate(Requester.Person(TriggerKind.Note, "pat", UserId), seen, [commander], At(0));
        Assert.Equal(allowed, verdict.Allowed);
        // A listed name does not lift a Reporter over the branch's own rule.
        Assert.False(MergePermission.Evaluate(Requester.Person(TriggerKind.Note, "pat", UserId), seen with { AccessLevel = Reporter }, ["pat"], At(0)).Allowed);
    }

    [Fact]
    public void Given_a_person_GitLab_does_not_know_When_checked_Then_refused()
    {
        var verdict = MergePermission.Evaluate(Requester.ApiUser("ghost", null), new PermissionObservation("main", Rules, null, 0), [], At(0));
        Assert.False(verdict.Allowed);
        Assert.Contains("@ghost", verdict.Reason);
    }

    [Fact]
    public void Given_a_request_recorded_before_actors_were_When_its_next_effect_is_checked_Then_the_attempt_fails_closed()
    {
        var events = Given(Rebasing).When(new RecordCheckpoint(PermissionCheckpoint.Rebase, "main", null, [], At(2))).ThenEvents();
        Assert.False(Assert.IsType<PermissionChecked>(events[0]).Allowed);
        Assert.Equal(WorkflowState.Rebasing, Assert.IsType<AttemptFailed>(events[1]).FailedIn);
    }

    [Fact]
    public void Given_a_maintainer_demoted_while_the_build_ran_When_checked_before_the_merge_Then_the_attempt_fails_and_says_why()
    {
        var maintainer = Requester.Person(TriggerKind.Assignment, "pat", UserId);
        IWorkflowEvent[] history = [new MergeRequested(1, "@pat", At(0), maintainer), .. Merging.Skip(1)];
        var demoted = new PermissionObservation("main", Rules, UserId, Developer);
        var events = Given(history).When(new RecordCheckpoint(PermissionCheckpoint.Merge, "main", demoted, [], At(40))).ThenEvents();
        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.Equal(WorkflowState.Merging, failed.FailedIn);
        Assert.Contains("@pat may no longer merge this", failed.Reason);
        Assert.Contains("Maintainers may merge", failed.Reason);
    }

    [Fact]
    public void Given_the_merge_checkpoint_passed_When_checked_again_Then_nothing_new_is_recorded()
    {
        var maintainer = Requester.Person(TriggerKind.Assignment, "pat", UserId);
        var seen = new PermissionObservation("main", Rules, UserId, Maintainer);
        IWorkflowEvent[] history = [new MergeRequested(1, "@pat", At(0), maintainer), .. Merging.Skip(1)];
        var after = Given(history).When(new RecordCheckpoint(PermissionCheckpoint.Merge, "main", seen, [], At(40))).ThenEvents();
        Given([.. history, .. after]).When(new RecordCheckpoint(PermissionCheckpoint.Merge, "main", seen, [], At(41))).ThenNothing();
    }

    [Fact]
    public void Given_a_queued_request_When_a_merge_checkpoint_arrives_Then_it_is_rejected_as_out_of_place()
    {
        Given(Queued).When(new RecordCheckpoint(PermissionCheckpoint.Merge, "main", null, [], At(1))).ThenRejected(RejectionKind.InvalidState);
    }

    [Fact]
    public void Given_a_refused_request_When_asked_again_Then_a_new_attempt_starts_and_the_refusal_is_noted_once()
    {
        var dev = Requester.Person(TriggerKind.Label, "dev", UserId);
        var events = Given(new MergeRequested(1, "@dev", At(0), dev))
            .When(new RecordCheckpoint(PermissionCheckpoint.Request, "main", new PermissionObservation("main", Rules, UserId, Developer), [], At(1))).ThenEvents();
        IWorkflowEvent[] refused = [new MergeRequested(1, "@dev", At(0), dev), .. events];
        var state = Fold(refused);
        Assert.Equal(WorkflowState.Refused, state.State);
        Assert.False(state.IsActive);
        Given([.. refused]).When(new RecordNote(5, At(2))).Then(new OutcomeNoted(1, 5, At(2)));
        Given([.. refused]).When(new Enqueue("@boss", At(3))).Then(new MergeRequested(2, "@boss", At(3)));
    }

    [Theory]
    [InlineData("blocked", null, null, "is blocked")]
    [InlineData("deactivated", null, null, "is deactivated")]
    [InlineData("active", "awaiting", null, "awaits approval")]
    [InlineData("active", null, "2026-11-27", "expired on 2026-11-27")]
    public void Given_a_maintainer_GitLab_would_not_let_use_git_When_checked_Then_refused(string userState, string? membership, string? expires, string reason)
    {
        var seen = new PermissionObservation("main", Rules, UserId, Maintainer, userState, membership, expires is null ? null : DateOnly.Parse(expires));
        var verdict = MergePermission.Evaluate(Requester.Person(TriggerKind.Assignment, "pat", UserId), seen, [], At(0));
        Assert.False(verdict.Allowed);
        Assert.Contains(reason, verdict.Reason);
        Assert.True(MergePermission.Evaluate(Requester.Person(TriggerKind.Assignment, "pat", UserId),
            seen with { UserState = "active", MembershipState = "active", MembershipExpiresAt = DateOnly.FromDateTime(At(0).UtcDateTime) }, [], At(0)).Allowed);
    }

    [Fact]
    public void Given_GitLab_calls_the_branch_protected_When_no_listed_rule_matches_Then_a_developer_is_refused_rather_than_treated_as_unprotected()
    {
        var seen = new PermissionObservation("stable", Rules, UserId, Developer, BranchProtected: true);
        Assert.False(MergePermission.MayMerge(seen).Allowed);
        Assert.True(MergePermission.MayMerge(seen with { BranchProtected = false }).Allowed);
    }

    [Fact]
    public void Given_grants_to_a_custom_role_a_deploy_key_or_a_user_who_left_When_checked_Then_they_grant_nothing()
    {
        var rules = new List<ProtectedBranchRule>
        {
            new("main", [new AccessGrant(Developer, OtherKind: "custom role 3"), new AccessGrant(Developer, OtherKind: "deploy key 1"), new AccessGrant(null, UserId)]),
        };
        Assert.False(MergePermission.MayMerge(new PermissionObservation("main", rules, UserId, NotAMember)).Allowed);
        Assert.False(MergePermission.MayMerge(new PermissionObservation("main", rules, UserId + 1, Maintainer)).Allowed);
    }

    [Fact]
    public void Given_the_target_branch_changed_after_the_request_When_the_merge_is_checked_Then_the_attempt_fails_whatever_the_new_branch_allows()
    {
        var maintainer = Requester.Person(TriggerKind.Assignment, "pat", UserId);
        var request = new PermissionChecked(1, PermissionCheckpoint.Request, 0, maintainer, new PermissionObservation("main", Rules, UserId, Maintainer),
            [], true, "ok", At(0), "main");
        IWorkflowEvent[] history = [new MergeRequested(1, "@pat", At(0), maintainer), request, .. Merging.Skip(1)];
        Assert.Equal("main", Fold(history).TargetBranch);
        var events = Given(history)
            .When(new RecordCheckpoint(PermissionCheckpoint.Merge, "feature/x", new PermissionObservation("feature/x", Rules, UserId, Maintainer), [], At(40)))
            .ThenEvents();
        Assert.False(Assert.IsType<PermissionChecked>(events[0]).Allowed);
        Assert.Contains("target branch changed from main to feature/x", Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_built_images_to_publish_When_the_requester_lost_their_rights_Then_nothing_is_promoted()
    {
        var maintainer = Requester.Person(TriggerKind.Assignment, "pat", UserId);
        IWorkflowEvent[] history = [new MergeRequested(1, "@pat", At(0), maintainer), .. Promoting.Skip(1)];
        var events = Given(history)
            .When(new RecordCheckpoint(PermissionCheckpoint.Promote, "main", new PermissionObservation("main", Rules, UserId, Reporter), [], At(35)))
            .ThenEvents();
        Assert.Equal(WorkflowState.Promoting, Assert.IsType<AttemptFailed>(events[1]).FailedIn);
    }
}
