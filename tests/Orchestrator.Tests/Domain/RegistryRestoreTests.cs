using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A fork owner's job in our pipeline pushed to tags of the target's registry: the attempt fails, and every tampered tag
/// is taken back to what it held before our pipeline (a tag main uses included), or deleted if it was absent.
/// </summary>
public sealed class RegistryRestoreTests
{
    private const long Target = 17;
    private const string Repo = "mesa/mesa/debian/x86_64_build";
    private const string Reference = "127.0.0.1:5055/" + Repo + ":20261128-A";
    private const string MainDigest = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    private const string Planted = "sha256:6666666666666666666666666666666666666666666666666666666666666666";
    private const string Later = "sha256:7777777777777777777777777777777777777777777777777777777777777777";

    private static readonly TagDigest MainTag = new(Repo, "20261101-base", MainDigest);
    private static readonly TagDigest Ours = new(Repo, "20261128-A", Digest);

    private static IWorkflowEvent[] VerifyingInTarget =>
    [
        .. Building,
        new PipelinePrepared(1, [MainTag], [$"{Repo}:20261128-A"], At(4)),
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), Target),
        new PipelineObserved(1, Pipeline, "success", At(30)),
    ];

    private static RecordVerification Verification(params TagDigest[] after) => new(TargetSha, [], 3, At(31), new VerificationEvidence("mesa/mesa",
        [new ImageEvidence("debian/x86_64_build", "20261128-A", Reference, FreshnessVerdict.Stale, Digest, new RegistryImage(Digest, RebasedSha, Pipeline, 5), false)],
        [new JobEvidence(5, "build", "success", []), new JobEvidence(6, "test", "success", [new RunnerImageLine(Reference, Digest)])],
        ["build"], after));

    /// <summary>The repro: the fork owner's job overwrote main's tag and planted a tag of its own.</summary>
    private static IWorkflowEvent[] Tampered()
    {
        var events = Given(VerifyingInTarget)
            .When(Verification(MainTag with { Digest = Planted }, Ours, new TagDigest(Repo, "20261215-next", Planted)))
            .ThenEvents();
        return [.. VerifyingInTarget, .. events];
    }

    [Fact]
    public void Given_a_job_that_overwrote_main_s_tag_and_planted_another_When_verified_Then_each_is_chosen_to_be_taken_back()
    {
        var tampered = Assert.Single(Tampered().OfType<RegistryTampered>());
        Assert.Equal([new TagRestore(Repo, "20261101-base", MainDigest, Planted), new TagRestore(Repo, "20261215-next", null, Planted)], tampered.Restores!);
        var state = Given(Tampered()).State;
        Assert.Equal(WorkflowState.Failed, state.State);
        Assert.Equal(2, state.PendingRestores.Count);
        Assert.True(state.NeedsWork);
    }

    [Fact]
    public void Given_main_s_tag_overwritten_When_the_shell_reports_it_holds_main_s_digest_again_Then_it_is_restored()
    {
        var state = Given(Tampered())
            .When(new RecordTagRestore(Repo, "20261101-base", Planted, MainDigest, At(40)))
            .Then(new RegistryTagRestored(1, Repo, "20261101-base", Planted, MainDigest, TagRestoreOutcome.Restored, At(40)));
        Assert.Equal(new TagRestore(Repo, "20261215-next", null, Planted), Assert.Single(state.PendingRestores));
    }

    [Fact]
    public void Given_tampering_left_by_an_ended_attempt_When_a_new_attempt_is_queued_Then_the_restore_is_taken_before_it_goes_on()
    {
        IWorkflowEvent[] requeued = [.. Tampered(), new MergeRequested(2, "marge", At(39))];
        Assert.Equal(WorkflowState.Queued, Fold(requeued).State);

        var events = WorkflowDecider.Decide(new RecordTagRestore(Repo, "20261101-base", Planted, MainDigest, At(40)), Fold(requeued)).Events;

        Assert.Equal(TagRestoreOutcome.Restored, Assert.IsType<RegistryTagRestored>(Assert.Single(events)).Outcome);
        Assert.Single(events.Aggregate(Fold(requeued), WorkflowEvolver.Evolve).PendingRestores);
    }

    [Fact]
    public void Given_a_planted_tag_When_the_shell_reports_it_gone_Then_it_is_deleted_and_nothing_is_left_to_restore()
    {
        var history = Tampered();
        var state = Given([.. history, new RegistryTagRestored(1, Repo, "20261101-base", Planted, MainDigest, TagRestoreOutcome.Restored, At(40))])
            .When(new RecordTagRestore(Repo, "20261215-next", Planted, null, At(41)))
            .Then(new RegistryTagRestored(1, Repo, "20261215-next", Planted, null, TagRestoreOutcome.Restored, At(41)));
        Assert.Empty(state.PendingRestores);
    }

    [Fact]
    public void Given_main_s_tag_overwritten_When_its_digest_from_before_is_gone_and_the_tag_deleted_Then_it_ends_deleted_not_planted()
    {
        var state = Given(Tampered())
            .When(new RecordTagRestore(Repo, "20261101-base", Planted, null, At(40)))
            .Then(new RegistryTagRestored(1, Repo, "20261101-base", Planted, null, TagRestoreOutcome.Deleted, At(40)));
        Assert.Single(state.PendingRestores);
    }

    [Fact]
    public void Given_main_s_tag_overwritten_When_it_still_holds_the_planted_digest_after_the_restore_Then_refused_and_tried_again() =>
        Given(Tampered()).When(new RecordTagRestore(Repo, "20261101-base", Planted, Planted, At(40))).ThenRejected(RejectionKind.InvalidInput);

    [Fact]
    public void Given_a_planted_tag_pushed_over_since_by_someone_else_When_the_shell_leaves_it_Then_recorded_as_left() =>
        Given(Tampered())
            .When(new RecordTagRestore(Repo, "20261215-next", Later, Later, At(40)))
            .Then(new RegistryTagRestored(1, Repo, "20261215-next", Later, Later, TagRestoreOutcome.Left, At(40)));

    [Fact]
    public void Given_a_tag_held_by_someone_else_When_the_shell_reports_it_changed_it_all_the_same_Then_refused() =>
        Given(Tampered()).When(new RecordTagRestore(Repo, "20261215-next", Later, null, At(40))).ThenRejected(RejectionKind.InvalidInput);

    [Fact]
    public void Given_finishing_refused_again_and_again_When_given_up_Then_the_tampered_tags_stay_pending_and_are_tried_again_unrecorded()
    {
        var history = Tampered().Concat([
            new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", 1, At(41)),
            new StepErrored(1, WorkflowState.Failed, "gitlab", 403, "403 Forbidden", 2, At(42))]).ToArray();
        var events = Given(history).When(new RecordStepError("gitlab", 403, "403 Forbidden", At(43))).ThenEvents();

        var abandoned = Assert.IsType<FinishingAbandoned>(events[1]);
        Assert.DoesNotContain(abandoned.LeftBehind, l => l.Contains("20261101-base") || l.Contains("20261215-next"));
        var state = Given([.. history, .. events]).State;
        Assert.Equal(2, state.PendingRestores.Count);
        Assert.True(state.NeedsWork);
        // With only the undoing left, more refusals are not recorded: it is simply tried again.
        Given([.. history, .. events]).When(new RecordStepError("gitlab", 403, "403 Forbidden", At(44))).ThenNothing();
    }

    [Fact]
    public void Given_a_tag_already_pending_When_a_later_attempt_finds_it_tampered_again_Then_it_is_still_restored_to_the_first_digest()
    {
        var pending = RegistryRestores.Add([new TagRestore(Repo, "20261101-base", MainDigest, Planted)], [new TagRestore(Repo, "20261101-base", Planted, Later)]);
        Assert.Equal(new TagRestore(Repo, "20261101-base", MainDigest, Later), Assert.Single(pending));
    }

    [Fact]
    public void Given_the_tampering_and_its_undoing_recorded_When_replayed_Then_every_decision_is_the_same()
    {
        IWorkflowEvent[] stream = [.. Tampered(),
            new RegistryTagRestored(1, Repo, "20261101-base", Planted, MainDigest, TagRestoreOutcome.Restored, At(40)),
            new RegistryTagRestored(1, Repo, "20261215-next", Planted, null, TagRestoreOutcome.Restored, At(41))];
        var report = WorkflowReplay.Run(stream, WorkflowRules.Current);
        Assert.All(report.Decisions.Where(d => d.Command is nameof(RecordVerification) or nameof(RecordTagRestore)), d => Assert.True(d.Same, d.Command));
        Assert.Empty(report.State.PendingRestores);
    }

    [Fact]
    public void Given_a_tampering_recorded_by_rule_book_5_without_restores_When_replayed_Then_rules_changed_and_nothing_is_pending()
    {
        var old = Tampered().Select(e => e is RegistryTampered t ? t with { Restores = null } : e).ToList();
        var report = WorkflowReplay.Run([.. old.Select(e => (e, (int?)5))]);
        Assert.Equal("rules_changed", report.Decisions.Single(d => d.Command == nameof(RecordVerification)).Verdict);
        Assert.False(report.Unexplained);
        Assert.Empty(report.State.PendingRestores);
    }

    [Fact]
    public void Given_a_tampering_recorded_When_replayed_with_other_restores_Then_it_differs()
    {
        var stream = Tampered().Select(e => e is RegistryTampered t ? t with { Restores = [t.Restores![1]] } : e).ToList();
        Assert.False(WorkflowReplay.Run(stream, WorkflowRules.Current).Decisions.Single(d => d.Command == nameof(RecordVerification)).Same);
    }
}
