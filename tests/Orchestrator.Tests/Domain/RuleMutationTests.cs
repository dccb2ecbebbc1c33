using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// The audit promise, checked rule by rule: one recorded stream in which every rule decides something, replayed with
/// each rule swapped in turn for a deliberately wrong one. The replay must disagree exactly at the decisions that rule
/// made, and agree everywhere else; with today's rules it agrees everywhere.
/// </summary>
public sealed class RuleMutationTests
{
    private const long Target = 17;
    private const string Image = "debian/x86_64_build";
    private const string Tag = "20261128-A";
    private const string Repo = "mesa/mesa/" + Image;
    private const string Reference = "127.0.0.1:5055/" + Repo + ":" + Tag;
    private static readonly TagDigest MainTag = new(Repo, "main-tag", "sha256:9999");
    private static readonly MergeRequestFacts Ready = ObservationDeciderTests.Ready;

    /// <summary>Decides each command on the stream so far and records what it decided, remembering which rule made which decision.</summary>
    internal sealed class Recording
    {
        private MergeRequestWorkflow state = MergeRequestWorkflow.Initial;
        public List<IWorkflowEvent> Events { get; } = [];
        public Dictionary<string, List<long>> MadeBy { get; } = [];

        public void Do(WorkflowCommand command, string? rule = null)
        {
            var decision = WorkflowDecider.Decide(command, state);
            Assert.True(decision.Events.Count > 0, $"{command.GetType().Name} decided nothing in {state.State}");
            if (rule is not null) (MadeBy.TryGetValue(rule, out var list) ? list : MadeBy[rule] = []).Add(Events.Count + 1);
            Events.AddRange(decision.Events);
            state = decision.Events.Aggregate(state, WorkflowEvolver.Evolve);
        }

        public int Minute { get; private set; }
        public DateTimeOffset Now => At(++Minute);
        public int Attempt => state.Attempt;
    }

    private static RecordCheckpoint Check(Recording r, PermissionCheckpoint at, MergeRequestFacts mr, IReadOnlyList<TagDigest>? imagesNow = null) =>
        new(at, "main", null, [], r.Now, mr, 0, null, imagesNow);

    private static ImageObservation Observed(string name, FreshnessVerdict verdict) => verdict switch
    {
        FreshnessVerdict.Unbumped => new(name, "same", "same", true, null, false, null, false, false, false),
        FreshnessVerdict.Upstream => new(name, "t", "old", false, new RegistryImage("sha256:up", TargetSha, 1, 2), true, null, false, false, false),
        FreshnessVerdict.Stale => new(name, Tag, "old", false, new RegistryImage("sha256:left", "c3c3", 1, 2), false, null, false, false, false),
        FreshnessVerdict.Fresh => new(name, "t", "old", false, null, false, new RegistryImage("sha256:src", "d4d4", 3, 4), true, false, true,
            new ImageHistory(TargetSha, null, TargetSha, new SourceJob("success", 3, "d4d4"), RebasedSha, "d4d4", ForkPipelinesRun: false)),
        _ => new(name, "t", "old", false, null, false, null, false, false, false),
    };

    private static VerificationEvidence Evidence(params TagDigest[] after) => new("mesa/mesa",
        [new ImageEvidence(Image, Tag, Reference, FreshnessVerdict.Stale, Digest, new RegistryImage(Digest, RebasedSha, Pipeline, 5), false)],
        [new JobEvidence(5, "build", "success", []), new JobEvidence(6, "test", "success", [new RunnerImageLine(Reference, Digest)])],
        ["build"], after);

    private static void Request(Recording r, MergeRequestFacts mr, string? rule = null)
    {
        r.Do(new Enqueue("ci-bot", r.Now, Requester.ApiToken("ci-bot")));
        r.Do(Check(r, PermissionCheckpoint.Request, mr), rule);
    }

    /// <summary>From a granted branch to our pipeline's success in the target project, with one stale image.</summary>
    private static void BuildInTarget(Recording r, string targetSha = TargetSha)
    {
        r.Do(RecordRebase.Landed(RebasedSha, targetSha, r.Now));
        r.Do(new RecordFreshness([Observed(Image, FreshnessVerdict.Stale)], false, r.Now), "freshness:Stale");
        r.Do(Check(r, PermissionCheckpoint.Pipeline, Ready));
        r.Do(new RecordPipelinePrepared([MainTag], [$"{Repo}:{Tag}"], r.Now));
        r.Do(new RecordPipeline(Pipeline, RebasedSha, false, r.Now, Target, Target));
        r.Do(new ObservePipeline(Pipeline, "success", r.Now));
    }

    private static void ToMerging(Recording r)
    {
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        BuildInTarget(r);
        r.Do(new RecordVerification(TargetSha, [], 3, r.Now, Evidence(MainTag, new TagDigest(Repo, Tag, Digest))));
    }

    internal static Recording Stream()
    {
        var r = new Recording();
        // Each precondition refuses one request.
        foreach (var (name, mr) in new (string, MergeRequestFacts)[]
                 {
                     ("open", Ready with { State = "closed" }), ("not_draft", Ready with { Draft = true }),
                     ("no_conflicts", Ready with { HasConflicts = true }), ("discussions_resolved", Ready with { BlockingDiscussionsResolved = false }),
                     ("fork_allows_collaboration", Ready with { IsFork = true, AllowCollaboration = false }),
                     ("approved", Ready with { ApprovalsLeft = 1 }),
                 })
            Request(r, mr, "precondition:" + name);

        // Who may merge: a developer's assignment on a branch only maintainers may merge into.
        r.Do(new Enqueue("dev", r.Now, Requester.Person(TriggerKind.Assignment, "dev", 5)));
        r.Do(new RecordCheckpoint(PermissionCheckpoint.Request, "main",
            new PermissionObservation("main", [new ProtectedBranchRule("main", [new AccessGrant(40)])], 5, 30), [], r.Now, Ready), "may merge");

        // Every freshness verdict in one check; then CI runs too long.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        r.Do(RecordRebase.Landed(RebasedSha, TargetSha, r.Now));
        r.Do(new RecordFreshness([.. Enum.GetValues<FreshnessVerdict>().Select(v => Observed(v.ToString(), v))], true, r.Now),
            "freshness:" + string.Join("+", Enum.GetValues<FreshnessVerdict>()));
        r.Do(Check(r, PermissionCheckpoint.Pipeline, Ready));
        r.Do(new RecordPipeline(Pipeline, RebasedSha, true, r.Now));
        r.Do(new ObservePipeline(Pipeline, "running", r.Now));
        r.Do(new ObserveClock(new ClockReading(30, 60), At(r.Minute + 61)), "ci timeout");

        // GitLab refuses the pipeline's CI configuration, three times in a row.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        r.Do(RecordRebase.Landed(RebasedSha, TargetSha, r.Now));
        r.Do(new RecordFreshness([], false, r.Now));
        for (var i = 0; i < WorkflowRules.UnhealableLimit; i++)
            r.Do(new RecordStepError("gitlab", 400, "jobs config should contain at least one visible job", r.Now), "unhealable");

        // A rebase that never lands.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        r.Do(new ObserveClock(new ClockReading(30, 60), At(r.Minute + 31)), "step timeout");

        // Our rewrite would change the code an approver approved: no one is approved for again, nothing is pushed.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        r.Do(new PlanRewrite(RebasedSha, TargetSha, [new("Reviewed-by", "Alice <alice@example.com>")], "marge-bot", "m@x", r.Now, true, 1,
            ApprovalsResetOnPush.Reapprove, [new PlannedApprover(11, "alice")], true));
        r.Do(new CheckReapproval(new ReapprovalFacts("d0d0", RebasedSha, TargetSha, "e5e5", "9a9a", "7b7b", [new ApproverAccess(11, 30)]), r.Now), "reapproval");

        // CI fails.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        r.Do(RecordRebase.Landed(RebasedSha, TargetSha, r.Now));
        r.Do(new RecordFreshness([], false, r.Now));
        r.Do(Check(r, PermissionCheckpoint.Pipeline, Ready));
        r.Do(new RecordPipeline(Pipeline, RebasedSha, false, r.Now));
        r.Do(new ObservePipeline(Pipeline, "failed", r.Now), "pipeline outcome");

        // Our pipeline pushed over a tag main uses.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        BuildInTarget(r);
        r.Do(new RecordVerification(TargetSha, [], 3, r.Now, Evidence(MainTag with { Digest = "sha256:8888" }, new TagDigest(Repo, Tag, Digest))), "registry guard");
        // What it built stays: main names that tag now.
        r.Do(new ObserveCleanup(Image, Tag, new CleanupObservation(Repo, "main", TargetSha, [new BranchTag("main", TargetSha, Tag)],
            new RegistryImage(Digest, RebasedSha, Pipeline, 5), 3), r.Now), "cleanup");

        // Our rewrite keeps the code approved: pushed, and GitLab still lists the approver once the wait has passed.
        Request(r, Ready);
        r.Do(new StartRebase(r.Now));
        r.Do(new PlanRewrite(RebasedSha, TargetSha, [new("Reviewed-by", "Alice <alice@example.com>")], "marge-bot", "m@x", r.Now, true, 1,
            ApprovalsResetOnPush.Reapprove, [new PlannedApprover(11, "alice")], true));
        r.Do(new CheckReapproval(new ReapprovalFacts("d0d0", RebasedSha, TargetSha, "e5e5", "9a9a", "9a9a", [new ApproverAccess(11, 30)]), r.Now), "reapproval");
        var pushed = r.Now;
        r.Do(new ObserveApprovalReset("e5e5", [11], 30, pushed));
        r.Do(new ObserveApprovalReset("e5e5", [11], 30, pushed.AddSeconds(30)), "approvals kept");
        r.Do(new Cancel("api", "enough", r.Now));

        // Merge refusals of every class, and someone's push seen right before the merge.
        ToMerging(r);
        r.Do(new RecordMergeRefusal(405, "checking", new MergeRefusalFacts(RebasedSha, TargetSha, "checking"), 3, r.Now), "refusal:StillChecking");
        r.Do(new RecordMergeRefusal(422, "moved", new MergeRefusalFacts(RebasedSha, "moved", "mergeable"), 3, r.Now), "refusal:TargetMoved");
        BuildInTarget(r, "moved");
        r.Do(new RecordVerification("moved", [], 3, r.Now, Evidence(MainTag, new TagDigest(Repo, Tag, Digest))));
        r.Do(new RecordMergeRefusal(409, "pushed", new MergeRefusalFacts("ffff", "moved", "mergeable"), 3, r.Now), "refusal:SourceChanged");
        ToMerging(r);
        r.Do(new RecordMergeRefusal(405, "draft", new MergeRefusalFacts(RebasedSha, TargetSha, "draft_status"), 3, r.Now), "refusal:NotMergeable");
        ToMerging(r);
        r.Do(Check(r, PermissionCheckpoint.Merge, Ready with { Sha = "ffff" }), "precondition:source_unchanged");

        // A merge inside an embargo window waits for it to close.
        ToMerging(r);
        var now = r.Now;
        var around = new EmbargoWindow(now.AddHours(-1).DayOfWeek.ToString()[..3] + now.AddHours(-1).ToString(" HH:mm"),
            now.AddHours(1).DayOfWeek.ToString()[..3] + now.AddHours(1).ToString(" HH:mm"), "UTC");
        r.Do(new ObserveEmbargo([around], now), "embargo");
        return r;
    }

    private static readonly WorkflowRules Today = WorkflowRules.Current;

    private static FreshnessVerdict Other(FreshnessVerdict v) => v == FreshnessVerdict.Missing ? FreshnessVerdict.Fresh : FreshnessVerdict.Missing;

    private static MergeRefusal Other(MergeRefusal c) => c == MergeRefusal.NotMergeable ? MergeRefusal.StillChecking : MergeRefusal.NotMergeable;

    /// <summary>Each rule of the book, with a deliberately wrong stand-in, and the decisions (by recorded rule name) it must change.</summary>
    public static TheoryData<string> Mutations()
    {
        var data = new TheoryData<string>();
        foreach (var p in Preconditions.All) data.Add("precondition:" + p.Name);
        foreach (var v in Enum.GetValues<FreshnessVerdict>()) data.Add("freshness:" + v);
        foreach (var c in Enum.GetValues<MergeRefusal>()) data.Add("refusal:" + c);
        foreach (var name in new[] { "may merge", "step timeout", "ci timeout", "registry guard", "pipeline outcome", "unhealable", "embargo", "reapproval", "cleanup", "approvals kept" }) data.Add(name);
        return data;
    }

    private static WorkflowRules Wrong(string rule) => rule.Split(':') switch
    {
        ["precondition", var name] => Today with
        {
            Preconditions = [.. Today.Preconditions.Select(p => p.Name == name ? p with { Check = (_, _, _) => null } : p)],
        },
        ["freshness", var verdict] => Today with
        {
            Freshness = o => Today.Freshness(o) is var a && a.Verdict.ToString() == verdict ? a with { Verdict = Other(a.Verdict) } : a,
        },
        ["refusal", var kind] => Today with
        {
            ClassifyRefusal = (s, f, r, t) => Today.ClassifyRefusal(s, f, r, t) is var c && c.ToString() == kind ? Other(c) : c,
        },
        ["may merge"] => Today with
        {
            MayMerge = (r, o, c, a) => Today.MayMerge(r, o, c, a) is { Allowed: false } ? new PermissionVerdict(true, "anyone may") : Today.MayMerge(r, o, c, a),
        },
        ["step timeout"] => Today with { StepOverdue = (_, _) => false },
        ["ci timeout"] => Today with { CiOverdue = (_, _) => false },
        ["registry guard"] => Today with { RegistryGuard = (_, _, _) => [] },
        ["unhealable"] => Today with { Unhealable = (_, _) => false },
        ["embargo"] => Today with { Embargo = (_, _) => null },
        ["reapproval"] => Today with { Reapproval = (planned, _, _) => new ReapprovalVerdict(true, "anyone, whatever changed", [.. planned.Select(p => p.UserId)]) },
        ["cleanup"] => Today with { Cleanup = (_, o) => new CleanupChoice(true, o.Current?.Digest, "whatever it is") },
        ["approvals kept"] => Today with { ApprovalsKept = (_, _) => false },
        ["pipeline outcome"] => Today with { PipelineOutcome = status => status == "failed" ? PipelineOutcome.Succeeded : Today.PipelineOutcome(status) },
        _ => throw new ArgumentException(rule),
    };

    [Fact]
    public void Given_the_recorded_stream_When_replayed_with_todays_rules_Then_every_decision_agrees()
    {
        var report = WorkflowReplay.Run(Stream().Events, Today);
        Assert.True(report.Consistent, string.Join("; ", report.Decisions.Where(d => !d.Same).Select(d => $"{d.Version} {d.Command}")));
    }

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Given_the_recorded_stream_When_one_rule_is_wrong_Then_replay_disagrees_exactly_at_the_decisions_it_made(string rule)
    {
        var recording = Stream();
        var expected = recording.MadeBy.Where(m => m.Key == rule || (m.Key.StartsWith("freshness:") && m.Key.Contains(rule.Replace("freshness:", "")) && rule.StartsWith("freshness:")))
            .SelectMany(m => m.Value).Order().ToList();
        Assert.NotEmpty(expected);

        var report = WorkflowReplay.Run(recording.Events, Wrong(rule));

        Assert.False(report.Consistent);
        Assert.Equal(expected, report.Decisions.Where(d => !d.Same).Select(d => d.Version).Order().ToList());
    }
}

/// <summary>A difference under older rules is a change of rules; under the same rules, it is unexplained.</summary>
public sealed class RulesVersionTests
{
    [Fact]
    public void Given_a_decision_made_under_older_rules_When_todays_rules_decide_otherwise_Then_replay_says_the_rules_changed_not_that_it_differs()
    {
        IWorkflowEvent[] stream = [new MergeRequested(1, "marge", Histories.At(0)), new AttemptFailed(1, WorkflowState.Queued, "CI failed!", Histories.At(1)),
            // Recorded as one decision by a rule book that no longer exists: today's decides a request alone.
            new MergeRequested(2, "marge", Histories.At(2)), new RebaseStarted(2, 1, "queue granted the target branch", Histories.At(2))];

        var old = WorkflowReplay.Run([.. stream.Select((e, i) => (e, (int?)(i < 2 ? WorkflowRules.Version : WorkflowRules.Version - 1)))]);
        var now = WorkflowReplay.Run([.. stream.Select(e => (e, (int?)WorkflowRules.Version))]);

        Assert.Equal(("rules_changed", false), (old.Decisions[^1].Verdict, old.Unexplained));
        Assert.Equal(("differs", true), (now.Decisions[^1].Verdict, now.Unexplained));
        Assert.Equal(WorkflowRules.Version, WorkflowRules.VersionOf(WorkflowRules.Tag));
        Assert.Null(WorkflowRules.VersionOf(null));
    }
}
