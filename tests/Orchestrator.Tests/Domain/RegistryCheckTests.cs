using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// A fork owner's job can push to the target's registry and then make its pipeline fail (or its owner push mid-build):
/// whatever ends our pipeline, the registry is read once it has stopped, and tampering is recorded and taken back as
/// after a success. Until then no new snapshot is taken and the attempt's note is not posted.
/// </summary>
public sealed class RegistryCheckTests
{
    private const long Target = 17;
    private const string Repo = "mesa/mesa/debian/x86_64_build";
    private const string MainDigest = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    private const string Planted = "sha256:6666666666666666666666666666666666666666666666666666666666666666";
    private const string Moved = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

    private static readonly TagDigest MainTag = new(Repo, "20261101-base", MainDigest);
    private static readonly TagDigest Ours = new(Repo, "20261128-A", Digest);

    private static IWorkflowEvent[] Running(bool readAfterAnyEnd = true) =>
    [
        .. Building,
        new PipelinePrepared(1, [MainTag], [$"{Repo}:20261128-A"], At(4), readAfterAnyEnd),
        new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), Target, Target),
    ];

    /// <summary>Our pipeline, and the end a poll brings: CI failed.</summary>
    private static IWorkflowEvent[] EndedBy(WorkflowCommand end, bool readAfterAnyEnd = true) =>
        [.. Running(readAfterAnyEnd), .. Given(Running(readAfterAnyEnd)).When(end).ThenEvents()];

    private static IWorkflowEvent[] CiFailed => EndedBy(new ObservePipeline(Pipeline, "failed", At(30)));

    private static VerificationEvidence After(params TagDigest[] tags) => new("mesa/mesa", [], [], [], tags);

    private static ObserveRegistryAfter Read(string? status, params TagDigest[] tags) => new(Pipeline, status, After(tags), At(31));

    /// <summary>Every way a pipeline of ours ends other than the success verification reads.</summary>
    public static TheoryData<string> Ends() => ["CI failed", "cancelled by someone", "someone pushed", "CI timeout", "withdrawn", "merged elsewhere"];

    private static WorkflowCommand End(string how) => how switch
    {
        "CI failed" => new ObservePipeline(Pipeline, "failed", At(30)),
        "cancelled by someone" => new ObservePipeline(Pipeline, "canceled", At(30)),
        "someone pushed" => new ObservePipeline(Pipeline, "running", At(30), MergeRequest: ObservationDeciderTests.Ready with { Sha = "ffff" }),
        "CI timeout" => new ObserveClock(new ClockReading(30, 20), At(30)),
        "withdrawn" => new Cancel("gitlab", "the bot was unassigned", At(30)),
        _ => new ObserveMerged("d4d4", "alice", "marge-bot", At(30), RebasedSha),
    };

    [Theory]
    [MemberData(nameof(Ends))]
    public void Given_a_job_that_overwrote_main_s_tag_and_planted_another_When_the_pipeline_ends_without_success_and_the_registry_is_read_Then_both_are_taken_back(string how)
    {
        var ended = EndedBy(End(how));
        Assert.False(Fold(ended).IsActive);
        Assert.NotNull(RegistryChecks.Due(Fold(ended)));

        var events = Given(ended).When(Read("canceled", MainTag with { Digest = Planted }, Ours, new TagDigest(Repo, "20261215-next", Planted))).ThenEvents();

        Assert.IsType<RegistryChecked>(events[0]);
        var tampered = Assert.IsType<RegistryTampered>(Assert.Single(events, e => e is RegistryTampered));
        Assert.Equal([new TagRestore(Repo, "20261101-base", MainDigest, Planted), new TagRestore(Repo, "20261215-next", null, Planted)], tampered.Restores!);
        var state = Given([.. ended, .. events]).State;
        Assert.Null(RegistryChecks.Due(state));
        Assert.Equal(2, state.PendingRestores.Count);
    }

    [Fact]
    public void Given_a_stale_tag_that_held_an_image_before_When_a_failed_pipeline_pushed_over_it_Then_it_is_taken_back_not_excused_as_a_rebuild()
    {
        // Not deleted before the pipeline (a branch names it), so it held an image in the snapshot.
        const string Before = "sha256:5555555555555555555555555555555555555555555555555555555555555555";
        IWorkflowEvent[] running =
        [
            .. Building,
            new PipelinePrepared(1, [MainTag, Ours with { Digest = Before }], [], At(4), true),
            new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), Target, Target),
        ];
        IWorkflowEvent[] failed = [.. running, .. Given(running).When(new ObservePipeline(Pipeline, "failed", At(30))).ThenEvents()];

        var events = Given(failed).When(Read("failed", MainTag, Ours with { Digest = Planted })).ThenEvents();

        Assert.Equal([new TagRestore(Repo, "20261128-A", Before, Planted)], Assert.IsType<RegistryTampered>(events[^1]).Restores!);
    }

    [Fact]
    public void Given_a_snapshot_taken_while_another_mr_s_guarded_pipeline_ran_When_our_read_finds_a_tag_changed_Then_it_is_deleted_not_given_back_its_before()
    {
        // The other pipeline's owner may have planted what our snapshot holds as main's "before", then put the good digest back.
        var events = Given(CiFailed).When(new ObserveRegistryAfter(Pipeline, "failed", After(MainTag with { Digest = Planted }, Ours) with { OverlappedBy = ["mr-17-9"] }, At(31)))
            .ThenEvents();

        Assert.Equal([new TagRestore(Repo, "20261101-base", null, Planted)], Assert.IsType<RegistryTampered>(events[^1]).Restores!);
    }

    [Fact]
    public void Given_a_failed_pipeline_When_the_registry_holds_only_what_it_built_Then_the_read_is_recorded_and_nothing_is_tampered()
    {
        var state = Given(CiFailed).When(Read("failed", MainTag, Ours))
            .Then(new RegistryChecked(1, 1, 1, Pipeline, "failed", After(MainTag, Ours), At(31)));
        Assert.Null(state.RegistryCheck);
        Assert.Empty(state.PendingRestores);
    }

    [Theory]
    [InlineData("running")]
    [InlineData("canceling")]
    [InlineData("manual")]
    [InlineData(null)]
    public void Given_an_ended_attempt_When_its_pipeline_still_runs_at_the_read_Then_refused_since_it_may_still_push(string? status) =>
        Given(CiFailed).When(Read(status, MainTag, Ours)).ThenRejected(RejectionKind.InvalidInput);

    [Fact]
    public void Given_a_pipeline_GitLab_does_not_show_the_bot_When_the_registry_is_read_Then_the_read_is_taken() =>
        Given(CiFailed).When(Read("unseen", MainTag, Ours)).Then(new RegistryChecked(1, 1, 1, Pipeline, "unseen", After(MainTag, Ours), At(31)));

    [Fact]
    public void Given_a_pipeline_still_running_in_an_active_attempt_When_the_registry_is_read_Then_nothing_is_owed_yet() =>
        Given(Running()).When(Read("failed", MainTag with { Digest = Planted })).ThenNothing();

    [Fact]
    public void Given_a_failed_attempt_When_its_note_is_recorded_before_the_read_Then_refused_and_after_the_read_it_is_taken()
    {
        Given(CiFailed).When(new RecordNote(77, At(32))).ThenRejected(RejectionKind.InvalidState);

        IWorkflowEvent[] read = [.. CiFailed, new RegistryChecked(1, 1, 1, Pipeline, "failed", After(MainTag, Ours), At(31))];
        Given(read).When(new RecordNote(77, At(32))).Then(new OutcomeNoted(1, 77, At(32)));
    }

    /// <summary>The target moved under a verified build: the rebuild's snapshot would take a planted digest for "before".</summary>
    private static IWorkflowEvent[] RebuildingAfterTheTargetMoved()
    {
        IWorkflowEvent[] verifying = [.. Running(), new PipelineObserved(1, Pipeline, "success", At(30))];
        IWorkflowEvent[] moved = [.. verifying, .. Given(verifying).When(new RecordVerification(Moved, [], 3, At(31), After(MainTag))).ThenEvents()];
        Assert.Equal(WorkflowState.Rebasing, Fold(moved).State);
        return [.. moved, new Rebased(1, RebasedSha, Moved, At(32)), new FreshnessChecked(1, RebasedSha, [StaleBuildImage], false, At(33))];
    }

    [Fact]
    public void Given_a_rebuild_after_the_target_moved_When_a_new_snapshot_comes_before_the_read_Then_refused_and_after_it_taken()
    {
        var rebuilding = RebuildingAfterTheTargetMoved();
        Given(rebuilding).When(new RecordPipelinePrepared([MainTag with { Digest = Planted }], [], At(34))).ThenRejected(RejectionKind.InvalidState);

        var events = Given(rebuilding).When(Read("success", MainTag with { Digest = Planted }, Ours)).ThenEvents();
        Assert.Equal(new TagRestore(Repo, "20261101-base", MainDigest, Planted), Assert.Single(Assert.IsType<RegistryTampered>(events[1]).Restores!));
        IWorkflowEvent[] read = [.. rebuilding, .. events];
        // The rebuild's pipeline is not yet there: the tag is taken back before its snapshot.
        Given(read).When(new RecordTagRestore(Repo, "20261101-base", Planted, MainDigest, At(35)))
            .Then(new RegistryTagRestored(1, Repo, "20261101-base", Planted, MainDigest, TagRestoreOutcome.Restored, At(35)));
        Given(read).When(new RecordPipelinePrepared([MainTag], [], At(36))).Then(new PipelinePrepared(1, [MainTag], [], At(36), ReadAfterAnyEnd: true));
    }

    [Fact]
    public void Given_tampering_found_by_the_read_When_a_restore_comes_before_the_read_Then_it_is_not_taken()
    {
        IWorkflowEvent[] earlier = [.. CiFailed, .. Given(CiFailed).When(Read("failed", MainTag with { Digest = Planted }, Ours)).ThenEvents()];
        IWorkflowEvent[] unread = [.. earlier, new MergeRequested(2, "marge", At(40)), .. Running().Skip(1).Select(e => Again(e))];
        Assert.NotNull(RegistryChecks.Due(Fold([.. unread, new AttemptFailed(2, WorkflowState.Building, "CI failed!", At(100))])));
        Given([.. unread, new AttemptFailed(2, WorkflowState.Building, "CI failed!", At(100))])
            .When(new RecordTagRestore(Repo, "20261101-base", Planted, MainDigest, At(101))).ThenNothing();
    }

    /// <summary>An event of attempt 1's history as attempt 2 records it.</summary>
    private static IWorkflowEvent Again(IWorkflowEvent e) => e switch
    {
        RebaseStarted r => r with { Attempt = 2, At = r.At.AddHours(1) },
        Rebased r => r with { Attempt = 2, At = r.At.AddHours(1) },
        FreshnessChecked f => f with { Attempt = 2, At = f.At.AddHours(1) },
        PipelinePrepared p => p with { Attempt = 2, At = p.At.AddHours(1) },
        PipelineCreated p => p with { Attempt = 2, At = p.At.AddHours(1) },
        _ => e,
    };

    [Fact]
    public void Given_a_verified_build_When_the_registry_is_read_again_Then_nothing_is_owed_the_verification_was_the_read()
    {
        IWorkflowEvent[] verifying = [.. Running(), new PipelineObserved(1, Pipeline, "success", At(30))];
        var evidence = new VerificationEvidence("mesa/mesa",
            [new ImageEvidence("debian/x86_64_build", "20261128-A", "r/" + Repo + ":20261128-A", FreshnessVerdict.Stale, Digest, new RegistryImage(Digest, RebasedSha, Pipeline, 5), false)],
            [new JobEvidence(6, "test", "success", [new RunnerImageLine("r/" + Repo + ":20261128-A", Digest)])], [], [MainTag, Ours]);
        var state = Given(verifying).When(new RecordVerification(TargetSha, [], 3, At(31), evidence)).ThenEvents()
            .Aggregate(Fold(verifying), WorkflowEvolver.Evolve);
        Assert.Null(state.RegistryCheck);
        Given([.. verifying, .. Given(verifying).When(new RecordVerification(TargetSha, [], 3, At(31), evidence)).ThenEvents()])
            .When(Read("success", MainTag with { Digest = Planted })).ThenNothing();
    }

    [Fact]
    public void Given_a_stream_of_rule_book_6_that_failed_When_folded_Then_no_read_is_owed_and_its_replay_says_rules_changed()
    {
        var old = EndedBy(new ObservePipeline(Pipeline, "failed", At(30)), readAfterAnyEnd: false);
        Assert.Null(Fold(old).RegistryCheck);
        Given(old).When(new RecordNote(77, At(32))).Then(new OutcomeNoted(1, 77, At(32)));

        var report = WorkflowReplay.Run([.. old.Select(e => (e, (int?)6))]);
        Assert.Equal("rules_changed", report.Decisions.Single(d => d.Command == nameof(RecordPipelinePrepared)).Verdict);
        Assert.False(report.Unexplained);
    }

    [Fact]
    public void Given_the_read_and_its_tampering_recorded_When_replayed_Then_every_decision_is_the_same_and_a_forged_read_differs()
    {
        IWorkflowEvent[] stream = [.. CiFailed, .. Given(CiFailed).When(Read("failed", MainTag with { Digest = Planted }, Ours)).ThenEvents()];
        Assert.True(WorkflowReplay.Run(stream, WorkflowRules.Current).Consistent);

        // A read recorded with the planted digest but no tampering: today's rule finds it.
        var forged = stream.Where(e => e is not RegistryTampered).ToList();
        Assert.False(WorkflowReplay.Run(forged, WorkflowRules.Current).Decisions.Single(d => d.Command == nameof(ObserveRegistryAfter)).Same);
    }

    // Two guarded pipelines at once in one registry (two branches' queues): X's planted digest must never be restored by Y.
    private const string Ours2 = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

    /// <summary>Y's pipeline, whose snapshot saw main's tag already holding what X's job planted there.</summary>
    private static IWorkflowEvent[] YFailed()
    {
        IWorkflowEvent[] running = [.. Building, new PipelinePrepared(1, [MainTag with { Digest = Planted }], [$"{Repo}:20261128-A"], At(4), true),
            new PipelineCreated(1, Pipeline, RebasedSha, true, At(5), Target, Target)];
        return [.. running, .. Given(running).When(new ObservePipeline(Pipeline, "failed", At(30))).ThenEvents()];
    }

    /// <summary>What X's stream recorded: it found main's tag planted over main's digest, and took it back.</summary>
    private static readonly TagRestore RecordedByX = new(Repo, "20261101-base", MainDigest, Planted);

    private static ObserveRegistryAfter ReadWith(IReadOnlyList<TagRestore>? elsewhere, params TagDigest[] tags) =>
        new(Pipeline, "failed", After(tags) with { TamperedElsewhere = elsewhere }, At(31));

    [Fact]
    public void Given_another_mr_took_back_the_digest_it_found_planted_When_our_read_sees_the_tag_back_at_main_s_digest_Then_it_is_not_tampering_of_ours() =>
        Given(YFailed()).When(ReadWith([RecordedByX], MainTag, Ours))
            .Then(new RegistryChecked(1, 1, 1, Pipeline, "failed", After(MainTag, Ours) with { TamperedElsewhere = [RecordedByX] }, At(31)));

    [Fact]
    public void Given_no_record_of_the_other_mr_s_planting_When_our_read_sees_the_tag_changed_Then_it_would_be_taken_back_to_the_planted_digest()
    {
        // Why the ledger is read: without it the guard would put the planted digest back.
        var tampered = Assert.IsType<RegistryTampered>(Given(YFailed()).When(ReadWith(null, MainTag, Ours)).ThenEvents()[1]);
        Assert.Equal(new TagRestore(Repo, "20261101-base", Planted, MainDigest), Assert.Single(tampered.Restores!));
    }

    [Fact]
    public void Given_a_tag_planted_by_another_mr_When_our_pipeline_pushed_over_it_again_Then_it_goes_back_to_what_was_there_before_the_planting()
    {
        var tampered = Assert.IsType<RegistryTampered>(Given(YFailed()).When(ReadWith([RecordedByX], MainTag with { Digest = Ours2 }, Ours)).ThenEvents()[1]);
        Assert.Equal(new TagRestore(Repo, "20261101-base", MainDigest, Ours2), Assert.Single(tampered.Restores!));
    }

    [Fact]
    public void Given_the_digest_from_before_planted_by_another_mr_under_another_tag_When_taken_back_Then_the_tag_is_deleted_not_given_it()
    {
        var elsewhere = new TagRestore(Repo, "20261215-next", null, Planted);
        var tampered = Assert.IsType<RegistryTampered>(Given(YFailed()).When(ReadWith([elsewhere], MainTag with { Digest = Ours2 }, Ours)).ThenEvents()[1]);
        Assert.Equal(new TagRestore(Repo, "20261101-base", null, Ours2), Assert.Single(tampered.Restores!));
    }

    [Fact]
    public void Given_plantings_recorded_one_over_another_When_resolved_Then_the_tag_goes_back_to_the_first_digest_and_a_loop_ends_deleted()
    {
        // Our pipeline found the tag at Ours2 and left Digest there; X planted Planted over main's, and Z Ours2 over that.
        var changed = new TagRestore(Repo, "20261101-base", Ours2, Digest);
        var chain = new[] { new TagRestore(Repo, "20261101-base", Planted, Ours2), new TagRestore(Repo, "20261101-base", MainDigest, Planted) };
        Assert.Equal(MainDigest, Assert.Single(RegistryGuard.Elsewhere([changed], chain).Restores).Before);
        var loop = new[] { new TagRestore(Repo, "20261101-base", Planted, Ours2), new TagRestore(Repo, "20261101-base", Ours2, Planted) };
        Assert.Null(Assert.Single(RegistryGuard.Elsewhere([changed], loop).Restores).Before);
    }
}
