using Orchestrator.Domain;
using Xunit;
using static Orchestrator.Tests.Domain.DeciderSpec;
using static Orchestrator.Tests.Domain.Histories;

namespace Orchestrator.Tests.Domain;

/// <summary>
/// Whether a merge request changes what an image is built from is the rule's to say, from the changed paths and the input
/// globs recorded with the check: replay matches them again; a stream from before keeps the booleans it recorded.
/// </summary>
public sealed class InputPathsTests
{
    private const string Image = "debian/x86_64_build";
    private static readonly string[] Globs = [".gitlab-ci/container/**", "bin/ci/*.sh"];
    private static readonly RegistryImage Own = new("sha256:aa", "c0ffee", 41, 4242);

    /// <summary>A same-project image observed with paths: the tag unbumped, its source image on the target with provenance.</summary>
    private static ImageObservation Seen(IEnumerable<string> byMergeRequest, IEnumerable<string>? sinceSource = null, string tag = "t0") =>
        new(Image, tag, "t0", false, null, false, Own, false, false, false,
            new ImageHistory(TargetSha, null, TargetSha, new SourceJob("success", 41, "c0ffee"), RebasedSha, "c0ffee", ForkPipelinesRun: false), Globs,
            ChangedPaths.Of(Globs, byMergeRequest), ChangedPaths.Of(Globs, sinceSource ?? []));

    [Theory]
    [InlineData(".gitlab-ci/container/debian/x86_64_build.sh", FreshnessVerdict.Unbumped)]
    [InlineData("bin/ci/build.sh", FreshnessVerdict.Unbumped)]
    [InlineData("bin/ci/deep/build.sh", FreshnessVerdict.Fresh)]
    [InlineData("src/main.c", FreshnessVerdict.Fresh)]
    public void Given_recorded_paths_and_globs_When_assessed_Then_the_rule_matches_them_itself(string changed, FreshnessVerdict verdict)
    {
        // The booleans the observation carries say nothing changed: only the paths count where they are recorded.
        var assessed = Freshness.Assess(Seen([changed, "README.md"]));

        Assert.Equal(verdict, assessed.Verdict);
        if (verdict == FreshnessVerdict.Unbumped) Assert.Contains(changed, assessed.Reason);
    }

    [Fact]
    public void Given_paths_changed_since_the_source_image_s_commit_When_assessed_Then_stale_naming_the_path()
    {
        var assessed = Freshness.Assess(Seen(["src/main.c"], sinceSource: [".gitlab-ci/container/build-libfoo.sh"], tag: "t1"));

        Assert.Equal(FreshnessVerdict.Stale, assessed.Verdict);
        Assert.Contains("its inputs changed between its fdo.commit and the rebased commit (.gitlab-ci/container/build-libfoo.sh)", assessed.Reason);
    }

    [Fact]
    public void Given_a_source_image_nothing_was_compared_for_When_assessed_Then_its_inputs_count_as_changed()
    {
        var assessed = Freshness.Assess(Seen([], tag: "t1") with { ChangedSinceSourceCommit = null });

        Assert.Equal(FreshnessVerdict.Stale, assessed.Verdict);
        Assert.Contains("no comparison could show them unchanged", assessed.Reason);
    }

    [Fact]
    public void Given_more_candidate_paths_than_the_cap_When_recorded_Then_the_cap_is_kept_the_rest_counted_and_the_inputs_count_as_changed()
    {
        // None of the recorded ones matches (they are under the prefix of a glob with a wildcard in the middle), but
        // the ones left out might: fail closed.
        string[] globs = ["tools/*/image.sh"];
        var many = Enumerable.Range(0, ChangedPaths.Cap + 5).Select(i => $"tools/a{i:D4}/other.sh").Append("src/x.c").ToList();

        var recorded = ChangedPaths.Of(globs, many);

        Assert.Equal((ChangedPaths.Cap, 5, ChangedPaths.Cap + 6), (recorded.Paths.Count, recorded.Omitted, recorded.Total));
        Assert.DoesNotContain("src/x.c", recorded.Paths);
        Assert.True(Freshness.Touches(globs, recorded));
        Assert.False(Freshness.Touches(globs, recorded with { Omitted = 0 }));
    }

    [Fact]
    public void Given_a_comparison_gitlab_did_not_finish_When_no_listed_path_matches_Then_the_inputs_count_as_changed_and_the_reason_says_why()
    {
        var recorded = ChangedPaths.Of(Globs, ["src/main.c"], complete: false);

        Assert.True(recorded.Incomplete);
        var assessed = Freshness.Assess(Seen([]) with { ChangedByMergeRequest = recorded });
        Assert.Equal(FreshnessVerdict.Unbumped, assessed.Verdict);
        Assert.Contains("GitLab did not finish comparing", assessed.Reason);
    }

    [Theory]
    [InlineData(".gitlab-ci/container/**", ".gitlab-ci/container/")]
    [InlineData("bin/ci/*.sh", "bin/ci/")]
    [InlineData("**/build.sh", "")]
    [InlineData("Dockerfile", "Dockerfile")]
    public void Given_a_glob_When_its_literal_prefix_is_taken_Then_every_path_it_matches_starts_with_it(string glob, string prefix) =>
        Assert.Equal(prefix, Freshness.LiteralPrefix(glob));

    [Fact]
    public void Given_random_globs_and_paths_When_a_path_matches_Then_it_starts_with_the_glob_s_literal_prefix()
    {
        // What ChangedPaths.Of relies on to leave paths out of the record: a path dropped for its prefix never matches.
        var random = new Random(20261130);
        const string alphabet = "ab/*?.\n -_";
        string Word(int most) => new([.. Enumerable.Range(0, random.Next(most + 1)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
        var matched = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var (glob, path) = (Word(8), Word(10).Replace("*", "").Replace("?", ""));
            if (!Freshness.Matches(glob, path)) continue;
            matched++;
            Assert.StartsWith(Freshness.LiteralPrefix(glob), path, StringComparison.Ordinal);
        }
        Assert.True(matched > 2000, $"only {matched} matches: the property was hardly tried");
    }

    [Theory]
    [InlineData(".gitlab-ci/container/**", ".gitlab-ci/container/a\nb.sh", true)]
    [InlineData(".gitlab-ci/container/*.sh", ".gitlab-ci/container/a.sh\n", false)]
    [InlineData("**", "x\ny/z", true)]
    public void Given_a_path_with_a_newline_When_matched_Then_the_glob_spans_it_and_ends_at_the_path_s_end(string glob, string path, bool matches) =>
        Assert.Equal(matches, Freshness.Matches(glob, path.Replace("\\n", "\n")));

    [Theory]
    [InlineData("src/[ab].c")]
    [InlineData("src/{a,b}/**")]
    [InlineData("./.gitlab-ci/container/**")]
    [InlineData("/bin/ci/**")]
    [InlineData("")]
    public void Given_a_glob_of_another_dialect_or_not_relative_When_a_policy_lists_it_Then_the_policy_is_refused(string glob)
    {
        var policy = new ProjectPolicy([new ImagePolicy("debian/x86_64_build", "t.yml", "TAG", [glob])], "mesa/mesa");

        Assert.Contains(policy.Validate(), e => e.Contains("inputs") && e.Contains(glob));
    }

    [Fact]
    public void Given_paths_outside_every_glob_s_prefix_When_recorded_Then_only_the_ones_that_could_match_are_kept_and_all_are_counted()
    {
        var recorded = ChangedPaths.Of(Globs, ["src/main.c", "bin/ci/run.sh", ".gitlab-ci/container/x.sh", "bin/ci/run.sh"]);

        Assert.Equal([".gitlab-ci/container/x.sh", "bin/ci/run.sh"], recorded.Paths);
        Assert.Equal((0, 3), (recorded.Omitted, recorded.Total));
    }

    [Theory]
    [InlineData(true, FreshnessVerdict.Unbumped)]
    [InlineData(false, FreshnessVerdict.Fresh)]
    public void Given_an_observation_recorded_before_paths_were_When_assessed_Then_its_recorded_boolean_decides(bool changed, FreshnessVerdict verdict)
    {
        // Its git answers (the merge request's head included) are kept: only the paths are missing.
        var old = Seen([".gitlab-ci/container/x.sh"]) with
        {
            Inputs = null, ChangedByMergeRequest = null, ChangedSinceSourceCommit = null, InputsChangedByMergeRequest = changed,
        };

        Assert.Equal(verdict, Freshness.Assess(old).Verdict);
    }

    [Fact]
    public void Given_checking_When_the_recorded_paths_touch_the_inputs_of_an_unbumped_tag_Then_the_attempt_fails_naming_the_path()
    {
        var seen = Seen([".gitlab-ci/container/debian/x86_64_build.sh"]);

        var events = Given(Checking).When(new RecordFreshness([seen], false, At(3))).ThenEvents();

        var check = Assert.IsType<FreshnessChecked>(events[0]);
        Assert.Equal(FreshnessVerdict.Unbumped, Assert.Single(check.Images).Verdict);
        Assert.Same(seen, Assert.Single(check.Observations!));
        Assert.Contains(".gitlab-ci/container/debian/x86_64_build.sh", check.Images[0].Reason);
        Assert.IsType<AttemptFailed>(events[1]);
    }

    [Fact]
    public void Given_a_recorded_check_When_replayed_Then_the_paths_are_matched_again_and_a_forged_path_list_is_caught()
    {
        var seen = Seen(["src/main.c"]);
        var check = WorkflowDecider.Decide(new RecordFreshness([seen], false, At(3)), Fold(Checking)).Events;
        IWorkflowEvent[] stream = [.. Checking, .. check];

        Assert.True(WorkflowReplay.Run(stream).Consistent);
        Assert.Equal(FreshnessVerdict.Fresh, Assert.IsType<FreshnessChecked>(check[0]).Images[0].Verdict);

        // The same verdict over an observation whose paths touch the inputs: no rule of today's explains it.
        var forged = Assert.IsType<FreshnessChecked>(check[0]) with
        {
            Observations = [seen with { ChangedByMergeRequest = ChangedPaths.Of(Globs, [".gitlab-ci/container/x.sh"]) }],
        };
        var replay = WorkflowReplay.Run([.. Checking, forged]);
        Assert.False(replay.Consistent);
        var differing = Assert.Single(replay.Decisions, d => !d.Same);
        Assert.Equal(nameof(RecordFreshness), differing.Command);
        Assert.IsType<AttemptFailed>(differing.Decided[^1]);
    }
}
