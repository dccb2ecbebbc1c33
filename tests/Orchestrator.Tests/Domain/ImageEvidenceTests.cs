using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.Tests.Domain;

/// <summary>The image our tests ran on, as GitLab Runner reported it, and what else our pipeline changed in the registry.</summary>
public sealed class ImageEvidenceTests
{
    private const string Esc = "\u001b";
    private const string Ours = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string Forged = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    private const string ImageId = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    private const string Reference = "127.0.0.1:5055/mesa/mesa/debian/x86_64_build:20261128-A";
    private const string Rebased = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    private const long Pipeline = 4711;

    private static string RunnerLine(string image, string digest) =>
        $"{Esc}[0KUsing docker image {ImageId} for {image} with digest {image.Split(':')[0]}:{image.Split(':')[1]}@{digest} ...{Esc}[0;m";

    private static string Log(string before, string script) =>
        $"{Esc}[0KRunning with gitlab-runner 17.0.0{Esc}[0;m\n{Esc}[0Ksection_start:1700000000:prepare_executor\r{Esc}[0K{Esc}[0;m\n" +
        before + "\n" + $"{Esc}[0Ksection_end:1700000001:prepare_executor\r{Esc}[0K\n" +
        $"{Esc}[0Ksection_start:1700000002:step_script\r{Esc}[0K{Esc}[0;m\n{script}\n{Esc}[0Ksection_end:1700000003:step_script\r{Esc}[0K\nJob succeeded\n";

    [Fact]
    public void Given_a_job_log_When_read_Then_the_runners_line_before_the_script_counts_and_an_echoed_one_does_not()
    {
        var log = Log(RunnerLine(Reference, Ours), "echo hello\n" + RunnerLine(Reference, Forged));
        var (lines, started) = RunnerLog.ImageLines(log);
        Assert.True(started);
        Assert.Equal([new RunnerImageLine(Reference, Ours)], lines);
    }

    [Fact]
    public void Given_a_script_that_overwrites_its_line_with_a_carriage_return_When_read_Then_nothing_after_the_script_began_counts()
    {
        var log = Log("", $"true\r{RunnerLine(Reference, Forged)}");
        Assert.Empty(RunnerLog.ImageLines(log).Lines);
    }

    [Fact]
    public void Given_a_shell_executor_log_When_read_Then_no_image_line_is_found()
    {
        var (lines, started) = RunnerLog.ImageLines(Log("Using Shell executor...", "make test"));
        Assert.Empty(lines);
        Assert.True(started);
    }

    [Fact]
    public void Given_a_hook_that_prints_a_fake_section_and_image_line_after_preparation_When_read_Then_only_the_preparation_counts()
    {
        var fake = $"{Esc}[0Ksection_start:1700000001:prepare_executor\r{Esc}[0K\n{RunnerLine(Reference, Forged)}\n";
        var log = Log(RunnerLine(Reference, Ours), "true").Replace($"{Esc}[0Ksection_start:1700000002:step_script", fake + $"{Esc}[0Ksection_start:1700000002:step_script");
        Assert.Equal([new RunnerImageLine(Reference, Ours)], RunnerLog.ImageLines(log).Lines);
    }

    [Fact]
    public void Given_a_line_whose_digest_names_another_repository_When_read_Then_it_does_not_count()
    {
        var other = $"{Esc}[0KUsing docker image {ImageId} for {Reference} with digest evil.example/other@{Forged} ...{Esc}[0;m";
        Assert.Empty(RunnerLog.ImageLines(Log(other, "true")).Lines);
    }

    private static ImageEvidence Rebuilt(string? digest = Ours, string? commit = Rebased, long? pipeline = Pipeline) =>
        new("debian/x86_64_build", "20261128-A", Reference, FreshnessVerdict.Stale, digest,
            digest is null ? null : new RegistryImage(digest, commit, pipeline, 9), false);

    private static JobEvidence Job(string name, params string[] digests) =>
        new(name.Length, name, "success", [.. digests.Select(d => new RunnerImageLine(Reference, d))]);

    [Fact]
    public void Given_every_job_ran_on_the_digest_our_pipeline_built_When_verified_Then_that_digest_is_the_verified_image()
    {
        var result = ImageVerification.Verify([Rebuilt()], [Job("test", Ours), Job("lint", Ours), Job("build-image")], Rebased, Pipeline, ["build-image"]);
        Assert.Empty(result.Problems);
        Assert.Equal(Ours, Assert.Single(result.Verified).Digest);
    }

    [Fact]
    public void Given_jobs_that_ran_on_different_digests_When_verified_Then_refused()
    {
        var result = ImageVerification.Verify([Rebuilt()], [Job("test", Ours), Job("lint", Forged)], Rebased, Pipeline, []);
        Assert.Contains(result.Problems, p => p.Contains("different images"));
        Assert.Empty(result.Verified);
    }

    [Theory]
    [InlineData("c3c3c3", Pipeline)]
    [InlineData(Rebased, 1L)]
    public void Given_labels_that_name_another_commit_or_pipeline_When_verified_Then_refused(string commit, long pipeline)
    {
        var result = ImageVerification.Verify([Rebuilt(commit: commit, pipeline: pipeline)], [Job("test", Ours)], Rebased, Pipeline, []);
        Assert.Contains(result.Problems, p => p.Contains("did not build what its jobs ran on"));
    }

    [Fact]
    public void Given_no_job_ran_in_the_image_or_a_job_whose_runner_reports_no_image_When_verified_Then_both_are_named()
    {
        var result = ImageVerification.Verify([Rebuilt()], [Job("shell-job")], Rebased, Pipeline, []);
        Assert.Contains(result.Problems, p => p.Contains("no job of pipeline 4711 ran in"));
        Assert.Contains(result.Problems, p => p.Contains("shell-job"));
    }

    [Fact]
    public void Given_an_image_already_upstream_When_its_digest_names_a_target_commit_Then_verified_without_a_rebuild()
    {
        var upstream = new ImageEvidence("debian/x86_64_build", "20261128-A", Reference, FreshnessVerdict.Upstream, Ours,
            new RegistryImage(Ours, "b2b2", 17, 3), LabelCommitInTarget: true, CheckedDigest: Ours);
        Assert.Empty(ImageVerification.Verify([upstream], [Job("test", Ours)], Rebased, Pipeline, []).Problems);
        Assert.NotEmpty(ImageVerification.Verify([upstream with { LabelCommitInTarget = false }], [Job("test", Ours)], Rebased, Pipeline, []).Problems);
        // The tag was swapped between the check and our pipeline: the digest the jobs ran on is not the one judged.
        Assert.Contains(ImageVerification.Verify([upstream with { CheckedDigest = Forged }], [Job("test", Ours)], Rebased, Pipeline, []).Problems,
            p => p.Contains("not the " + Forged));
    }

    [Fact]
    public void Given_snapshots_around_our_pipeline_When_a_tag_we_did_not_expect_changed_Then_it_is_named_with_both_digests()
    {
        TagDigest[] before = [new("mesa/mesa/debian/x86_64_build", "main-tag", Ours), new("mesa/mesa/debian/x86_64_build", "20261128-A", null)];
        TagDigest[] after = [new("mesa/mesa/debian/x86_64_build", "main-tag", Forged), new("mesa/mesa/debian/x86_64_build", "20261128-A", Ours)];
        var changes = RegistryGuard.UnexpectedChanges(before, after, [("mesa/mesa/debian/x86_64_build", "20261128-A")]);
        Assert.Equal($"mesa/mesa/debian/x86_64_build:main-tag changed from {Ours} to {Forged}", Assert.Single(changes));
    }

    [Fact]
    public void Given_a_fork_mr_When_the_tag_exists_upstream_but_was_not_built_from_the_target_Then_it_is_stale_and_the_fork_is_never_read()
    {
        var left = new RegistryImage(Forged, "dead", 5, 6);
        var verdict = Freshness.Assess(new ImageObservation("debian/x86_64_build", "20261128-A", "old", false, left, false, null, false, true, false));
        Assert.Equal(FreshnessVerdict.Stale, verdict.Verdict);
    }
}
