using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// The merge is asked for one head: commits pushed after it (by the author, a fork owner) are not the requester's to
/// merge, and end the attempt before anything rebases or merges them, in marge-bot's words.
/// </summary>
public sealed class PinnedHeadTests
{
    private const string Asked = "aaaa000000000000000000000000000000000000", Late = "bbbb000000000000000000000000000000000000";
    // A token on its own authority: who may merge is another test's; here only the head matters.
    private static readonly Requester Token = Requester.ApiToken("release-tooling");

    private static MergeRequested Requested(RequestedHead? head) => new(1, "release-tooling", At(0), Token, head);

    private static MergeRequestFacts At_(string sha) => new("opened", false, false, true, false, null, sha, 1, 0, 0);

    private static RecordCheckpoint RequestCheck(string sha) =>
        new(PermissionCheckpoint.Request, "main", null, [], T0.AddSeconds(30), At_(sha));

    [Fact]
    public void Given_the_hook_named_the_head_When_the_request_is_checked_on_a_later_head_Then_the_attempt_ends_as_someone_pushed()
    {
        var events = Given(Requested(new RequestedHead(Asked, RequestedHead.MergeRequestHook))).When(RequestCheck(Late)).ThenEvents();

        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.Equal(WorkflowDecider.SomeonePushed, failed.Reason);
    }

    [Fact]
    public void Given_the_hook_named_the_head_When_the_request_is_checked_on_it_Then_it_goes_ahead() =>
        Assert.IsType<PermissionChecked>(Assert.Single(
            Given(Requested(new RequestedHead(Asked, RequestedHead.MergeRequestHook))).When(RequestCheck(Asked)).ThenEvents()));

    /// <summary>Asked without a head (an API call without sha), pinned at the request's check, then rebasing.</summary>
    private static IWorkflowEvent[] RebasingPinnedAtFirstLook()
    {
        IWorkflowEvent[] asked = [Requested(RequestedHead.From(null, RequestedHead.Api))];
        return [.. asked, .. Given(asked).When(RequestCheck(Asked)).ThenEvents(), .. Rebasing.Skip(1)];
    }

    [Fact]
    public void Given_no_head_with_the_trigger_When_the_request_is_checked_Then_the_head_it_sees_is_pinned()
    {
        Assert.Equal(new RequestedHead(Asked, RequestedHead.FirstLook), Fold(RebasingPinnedAtFirstLook()).Head);
        Assert.Equal(Asked, Fold(RebasingPinnedAtFirstLook()).PinnedHead);
    }

    [Theory]
    // Pushed to a branch that needed a rebase anyway, and to one already on top of the target (no rebase needed).
    [InlineData("older")]
    [InlineData(TargetSha)]
    public void Given_a_pinned_head_When_the_branch_moved_before_our_first_rebase_Then_the_attempt_ends_before_it(string baseSha)
    {
        var events = Given(RebasingPinnedAtFirstLook())
            .When(new RecordRebase(new RebaseFacts("opened", Late, baseSha, TargetSha, null, Requested: false), At(2))).ThenEvents();

        Assert.IsType<RebaseStopped>(events[0]);
        Assert.StartsWith(WorkflowDecider.SomeonePushed, Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_pinned_head_When_the_branch_still_holds_it_Then_the_rebase_goes_ahead_and_lands()
    {
        var history = RebasingPinnedAtFirstLook();
        Given(history).When(new RecordRebase(new RebaseFacts("opened", Asked, "older", TargetSha, null, Requested: false), At(2))).ThenNothing();
        // Our own rebase's head differs from the pinned one, and is ours: GitLab's diff versions show it was made from the pinned head.
        var landed = Given(history).When(new RecordRebase(new RebaseFacts("opened", RebasedSha, TargetSha, TargetSha, null, Requested: true,
            VersionHeads: [RebasedSha, Asked, "0ld0"]), At(3))).ThenEvents();
        Assert.IsType<Rebased>(Assert.Single(landed));
    }

    /// <summary>
    /// GitLab's rebase takes no expected head: a push between our look and its rebase is rebased with the rest, and shows
    /// in the merge request's diff versions as a version of its own between the pinned head and the rebased one.
    /// </summary>
    [Fact]
    public void Given_a_pinned_head_When_gitlab_s_rebase_rewrote_a_later_push_Then_the_attempt_ends_as_someone_pushed()
    {
        var events = Given(RebasingPinnedAtFirstLook()).When(new RecordRebase(new RebaseFacts("opened", RebasedSha, TargetSha, TargetSha, null,
            Requested: true, VersionHeads: [RebasedSha, Late, Asked]), At(3))).ThenEvents();

        Assert.IsType<RebaseStopped>(events[0]);
        var failed = Assert.IsType<AttemptFailed>(events[1]);
        Assert.StartsWith(WorkflowDecider.SomeonePushed, failed.Reason);
        Assert.Contains($"GitLab rebased {Late} to {RebasedSha}, not the {Asked}", failed.Reason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Given_a_pinned_head_When_gitlab_s_rebase_landed_and_its_versions_do_not_show_what_it_rewrote_Then_the_attempt_ends(bool read)
    {
        // Not read (an older stream, or a shell that skipped it), or the rebased head is the only version listed: fail closed.
        var events = Given(RebasingPinnedAtFirstLook()).When(new RecordRebase(new RebaseFacts("opened", RebasedSha, TargetSha, TargetSha, null,
            Requested: true, VersionHeads: read ? [RebasedSha] : null), At(3))).ThenEvents();

        Assert.StartsWith(WorkflowDecider.SomeonePushed, Assert.IsType<AttemptFailed>(events[1]).Reason);
    }

    [Fact]
    public void Given_a_second_rebase_after_the_target_moved_When_gitlab_rebased_our_last_rebased_head_Then_it_lands()
    {
        // Back to rebasing after verify: the head this attempt stands for is now the one it rebased to last.
        var first = Given(RebasingPinnedAtFirstLook()).When(new RecordRebase(new RebaseFacts("opened", RebasedSha, TargetSha, TargetSha, null,
            Requested: true, VersionHeads: [RebasedSha, Asked]), At(3))).ThenEvents();
        var state = Fold([.. RebasingPinnedAtFirstLook(), .. first]);
        Assert.Equal(RebasedSha, state.ExpectedHead);
        Assert.Equal(RebasedSha, new RebaseFacts("opened", "c3c3", "n3w", "n3w", null, true, ["c3c3", RebasedSha, Asked]).RebasedFrom);
        Assert.Equal(Late, new RebaseFacts("opened", "c3c3", "n3w", "n3w", null, true, ["c3c3", Late, RebasedSha]).RebasedFrom);
    }

    [Fact]
    public void Given_a_pinned_head_When_our_git_plans_its_rewrite_from_a_later_head_Then_the_attempt_ends_before_the_push()
    {
        var events = Given(RebasingPinnedAtFirstLook())
            .When(new PlanRewrite(Late, TargetSha, [], "marge-bot", "marge-bot@example", At(2))).ThenEvents();

        Assert.IsType<RewritePlanned>(events[0]);
        Assert.StartsWith(WorkflowDecider.SomeonePushed, Assert.IsType<AttemptFailed>(events[1]).Reason);
        Assert.IsType<RewritePlanned>(Assert.Single(Given(RebasingPinnedAtFirstLook())
            .When(new PlanRewrite(Asked, TargetSha, [], "marge-bot", "marge-bot@example", At(2))).ThenEvents()));
    }

    [Fact]
    public void Given_a_stream_recorded_before_heads_were_pinned_When_replayed_Then_a_later_head_is_rebased_as_it_was()
    {
        // Old streams: no head with the request, so a head that moved was rebased; the replay decides the same.
        IWorkflowEvent[] old = [Requested(null), .. Given(Requested(null)).When(RequestCheck(Asked)).ThenEvents(), .. Rebasing.Skip(1)];
        var late = new RecordRebase(new RebaseFacts("opened", Late, TargetSha, TargetSha, null, Requested: false), At(2));
        IWorkflowEvent[] stream = [.. old, .. Given(old).When(late).ThenEvents()];

        Assert.IsType<Rebased>(stream[^1]);
        Assert.Null(Fold(stream).PinnedHead);
        Assert.True(WorkflowReplay.Run(stream).Consistent);
    }
}
