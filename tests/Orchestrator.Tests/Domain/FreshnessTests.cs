using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.Tests.Domain;

public sealed class FreshnessRuleTests
{
    private static readonly RegistryImage Image = new("sha256:aa", "c0ffee", 41, 4242);

    private static ImageObservation Observed(
        string tag = "20261115-tool", string? targetTag = "20261101-base", bool inputsChanged = true, RegistryImage? upstream = null,
        bool upstreamInTarget = false, RegistryImage? source = null, bool ancestor = true, bool changedSince = false, bool provenance = true) =>
        new("debian/x86_64_build", tag, targetTag, inputsChanged, upstream, upstreamInTarget, source, ancestor, changedSince, provenance);

    [Fact]
    public void Given_inputs_changed_without_a_tag_bump_When_assessed_Then_unbumped() =>
        Assert.Equal(FreshnessVerdict.Unbumped, Freshness.Assess(Observed(tag: "t0", targetTag: "t0")).Verdict);

    [Fact]
    public void Given_the_tag_upstream_built_from_the_target_history_When_assessed_Then_upstream() =>
        Assert.Equal(FreshnessVerdict.Upstream, Freshness.Assess(Observed(upstream: Image, upstreamInTarget: true, source: Image)).Verdict);

    [Fact]
    public void Given_a_source_image_recorded_before_the_merge_request_s_head_was_When_assessed_Then_stale_as_nothing_shows_it_is_its_own()
    {
        var a = Freshness.Assess(Observed(source: Image));
        Assert.Equal(FreshnessVerdict.Stale, a.Verdict);
        Assert.Contains("not one of this merge request's commits", a.Reason);
    }

    [Theory]
    [InlineData(false, false, true, "not an ancestor")]
    [InlineData(true, true, true, "inputs changed")]
    [InlineData(true, false, false, "does not confirm job 4242 of pipeline 41")]
    public void Given_a_source_image_failing_a_check_When_assessed_Then_stale_with_the_reason(bool ancestor, bool changedSince, bool provenance, string reason)
    {
        var a = Freshness.Assess(Observed(source: Image, ancestor: ancestor, changedSince: changedSince, provenance: provenance));
        Assert.Equal(FreshnessVerdict.Stale, a.Verdict);
        Assert.Contains(reason, a.Reason);
        Assert.Equal("c0ffee", a.FdoCommit);
    }

    private const string Target = "b2b2";

    private const string Head = "d1d1";

    private static ImageObservation FromGit(RegistryImage? upstream = null, string? upstreamBase = null, RegistryImage? source = null,
        string? sourceBase = Target, SourceJob? job = null, string? ownBase = "c0ffee", bool? forkPipelinesRun = false) =>
        new("debian/x86_64_build", "20261115-tool", "20261101-base", false, upstream, false, source, false, false, false,
            new ImageHistory(Target, upstreamBase, sourceBase, job, Head, ownBase, forkPipelinesRun));

    /// <summary>
    /// The repro: a fork owner's job, run by our pipeline for her merge request, pushed a tag to the target's registry from
    /// her commit on top of the target; GitLab confirms that job. Another merge request bumping to that tag does not hold
    /// her commit: the merge base of it with the request's head is an older commit, or git knows none.
    /// </summary>
    [Theory]
    [InlineData(Target)]
    [InlineData(null)]
    public void Given_a_confirmed_image_on_top_of_the_target_from_a_commit_not_the_merge_request_s_When_assessed_Then_stale(string? ownBase)
    {
        var a = Freshness.Assess(FromGit(source: Image, job: new SourceJob("success", 41, "c0ffee"), ownBase: ownBase));
        Assert.Equal(FreshnessVerdict.Stale, a.Verdict);
        Assert.Contains($"its fdo.commit is not one of this merge request's commits (not an ancestor of its head {Head})", a.Reason);
    }

    [Fact]
    public void Given_a_confirmed_image_on_top_of_the_target_from_the_merge_request_s_own_commit_When_assessed_Then_fresh()
    {
        var a = Freshness.Assess(FromGit(source: Image, job: new SourceJob("success", 41, "c0ffee")));
        Assert.Equal(FreshnessVerdict.Fresh, a.Verdict);
        Assert.Contains("one of this merge request's commits", a.Reason);
    }

    /// <summary>
    /// The labels name a real job of this project for the request's own commit, but anyone whose job may push to the
    /// registry can copy them onto another image: in a project where fork merge requests' pipelines run (ours among them),
    /// that is a fork owner, so nothing binds the digest to the job and the image is rebuilt.
    /// </summary>
    [Theory]
    [InlineData(true, "this project lets fork merge requests' pipelines run in it")]
    [InlineData(null, "GitLab did not show whether this project lets fork merge requests' pipelines run in it")]
    public void Given_a_confirmed_image_of_the_merge_request_s_own_commit_When_fork_pipelines_may_run_in_the_project_Then_stale(bool? forkPipelinesRun, string reason)
    {
        var a = Freshness.Assess(FromGit(source: Image, job: new SourceJob("success", 41, "c0ffee"), forkPipelinesRun: forkPipelinesRun));
        Assert.Equal(FreshnessVerdict.Stale, a.Verdict);
        Assert.Contains(reason, a.Reason);
        Assert.Contains("ci_allow_fork_pipelines_to_run_in_parent_project", a.Reason);
    }

    [Fact]
    public void Given_a_fresh_verdict_recorded_before_fork_pipelines_were_read_When_replayed_Then_it_says_the_rules_changed()
    {
        // Rule books up to 7 recorded no ForkPipelinesRun: today's rule finds the image stale, and the replay says why it differs.
        var old = FromGit(source: Image, job: new SourceJob("success", 41, "c0ffee"), forkPipelinesRun: null);
        var fresh = Freshness.Assess(FromGit(source: Image, job: new SourceJob("success", 41, "c0ffee")));
        IWorkflowEvent[] stream = [.. Histories.Checking, new FreshnessChecked(1, Histories.RebasedSha, [fresh], false, Histories.At(3), [old])];
        var replay = WorkflowReplay.Run([.. stream.Select(e => (e, (int?)(WorkflowRules.Version - 1)))]);
        Assert.Contains(replay.Decisions, d => d.Verdict == "rules_changed");
        Assert.False(replay.Unexplained);
    }

    [Fact]
    public void Given_a_check_of_a_foreign_commit_s_image_When_its_verdict_is_recorded_as_fresh_Then_replay_catches_it()
    {
        var foreign = FromGit(source: Image, job: new SourceJob("success", 41, "c0ffee"), ownBase: Target);
        var check = Assert.IsType<FreshnessChecked>(WorkflowDecider.Decide(new RecordFreshness([foreign], false, Histories.At(3)),
            Histories.Fold(Histories.Checking)).Events[0]);
        Assert.Equal(FreshnessVerdict.Stale, check.Images[0].Verdict);

        var forged = check with { Images = [check.Images[0] with { Verdict = FreshnessVerdict.Fresh }] };
        Assert.True(WorkflowReplay.Run([.. Histories.Checking, .. WorkflowDecider.Decide(new RecordFreshness([foreign], false, Histories.At(3)),
            Histories.Fold(Histories.Checking)).Events]).Consistent);
        Assert.False(WorkflowReplay.Run([.. Histories.Checking, forged]).Consistent);
    }

    [Fact]
    public void Given_git_s_answers_When_the_upstream_commit_is_its_own_merge_base_with_the_target_Then_upstream() =>
        Assert.Equal(FreshnessVerdict.Upstream, Freshness.Assess(FromGit(upstream: Image, upstreamBase: Image.Commit)).Verdict);

    [Fact]
    public void Given_git_s_answers_When_the_upstream_commit_is_not_in_the_target_Then_stale() =>
        Assert.Equal(FreshnessVerdict.Stale, Freshness.Assess(FromGit(upstream: Image, upstreamBase: "0a0a")).Verdict);

    public static TheoryData<string?, SourceJob?, FreshnessVerdict, string?> SourceFacts() => new()
    {
        { Target, new SourceJob("success", 41, "c0ffee"), FreshnessVerdict.Fresh, null },
        { "0a0a", new SourceJob("success", 41, "c0ffee"), FreshnessVerdict.Stale, "not an ancestor" },
        { Target, new SourceJob("failed", 41, "c0ffee"), FreshnessVerdict.Stale, "does not confirm job 4242" },
        { Target, new SourceJob("success", 40, "c0ffee"), FreshnessVerdict.Stale, "does not confirm job 4242" },
        { Target, new SourceJob("success", 41, "dead"), FreshnessVerdict.Stale, "does not confirm job 4242" },
        { Target, new SourceJob(null, null, null), FreshnessVerdict.Stale, "does not confirm job 4242" },
        { Target, null, FreshnessVerdict.Stale, "does not confirm job 4242" },
    };

    [Theory]
    [MemberData(nameof(SourceFacts))]
    public void Given_git_s_and_gitlab_s_answers_about_a_source_image_When_assessed_Then_the_rule_holds_its_labels_to_them(
        string? sourceBase, SourceJob? job, FreshnessVerdict verdict, string? reason)
    {
        var a = Freshness.Assess(FromGit(source: Image, sourceBase: sourceBase, job: job));
        Assert.Equal(verdict, a.Verdict);
        if (reason is not null) Assert.Contains(reason, a.Reason);
    }

    [Fact]
    public void Given_an_upstream_tag_not_from_the_target_history_and_no_source_image_When_assessed_Then_stale_to_be_rebuilt() =>
        Assert.Equal(FreshnessVerdict.Stale, Freshness.Assess(Observed(upstream: Image, upstreamInTarget: false)).Verdict);

    [Theory]
    [InlineData("variables:\n  DEBIAN_BUILD_TAG: \"20250926-D3D618\"\n", "20250926-D3D618")]
    [InlineData("DEBIAN_BUILD_TAG: 2025-x # comment\n", "2025-x")]
    [InlineData("OTHER: 1\n", null)]
    public void Given_a_tag_file_When_read_Then_the_keyed_tag_comes_back(string file, string? tag) =>
        Assert.Equal(tag, Freshness.ReadTag(file, "DEBIAN_BUILD_TAG"));

    [Theory]
    [InlineData(".gitlab-ci/container/**", ".gitlab-ci/container/debian/x86_64_build.sh", true)]
    [InlineData(".gitlab-ci/container/**", ".gitlab-ci/image-tags.yml", false)]
    [InlineData(".gitlab-ci/*.yml", ".gitlab-ci/image-tags.yml", true)]
    [InlineData(".gitlab-ci/*.yml", ".gitlab-ci/x/y.yml", false)]
    [InlineData("**/build.sh", "a/b/build.sh", true)]
    public void Given_input_globs_When_matched_Then_folders_are_respected(string glob, string path, bool match) =>
        Assert.Equal(match, Freshness.Matches(glob, path));
}
