using System.Text.RegularExpressions;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Job logs carry GitLab Runner's own lines: the docker executor's image line and the build sections.</summary>
public sealed class RunnerLogTests(SandboxHost host) : IClassFixture<SandboxHost>
{
    private const string Forged = "\u001b[0KUsing docker image sha256:" + "0000000000000000000000000000000000000000000000000000000000000000"
        + " for evil with digest evil@sha256:1111111111111111111111111111111111111111111111111111111111111111 ...\u001b[0;m";

    private static readonly Regex ImageLine = new(
        @"\u001b\[0KUsing docker image (sha256:[0-9a-f]{64}) for (\S+) with digest (\S+)@(sha256:[0-9a-f]{64}) \.\.\.\u001b\[0;m\n");

    private static string Ci(string script) => $$"""
        stages: [container, test]
        build-image:
          extends: .fdo.container-build@debian
          stage: container
          variables:
            FDO_REPO_SUFFIX: debian/runner
            FDO_DISTRIBUTION_TAG: "2026-03-03-r"
            FDO_DISTRIBUTION_EXEC: mkdir -p "$IMAGE_ROOT/bin"
        use-image:
          stage: test
          image: $CI_REGISTRY_IMAGE/debian/runner:2026-03-03-r
          script:
            - {{script}}
        """;

    private async Task<(World W, string Log, string Repo)> RunImageJob(string tag, string script)
    {
        var w = await World.CreateAsync(host, tag);
        var id = w.Upstream.Long("id");
        var commit = await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("main", "CI", ".gitlab-ci.yml", Ci(script)));
        var pipeline = await w.Maintainer.WaitForPipeline(id, (await w.Maintainer.LatestPipeline(id, "main", commit.Str("id"))).Long("id"));
        Assert.Equal("success", pipeline.Str("status"));
        var jobs = (await w.Maintainer.Get($"projects/{id}/pipelines/{pipeline.Long("id")}/jobs")).AsArray();
        var log = await w.Maintainer.Trace(id, jobs.Single(j => j!.Str("name") == "use-image")!.Long("id"));
        return (w, log, $"{w.Upstream.Str("path_with_namespace").ToLowerInvariant()}/debian/runner");
    }

    private static (int Start, int End) StepScript(string log)
    {
        var start = Regex.Match(log, @"section_start:\d{10}:step_script\r\u001b\[0K");
        var end = Regex.Match(log, @"section_end:\d{10}:step_script\r\u001b\[0K");
        Assert.True(start.Success && end.Success && start.Index < end.Index, "the log has one step_script section");
        return (start.Index, end.Index);
    }

    [Fact]
    public async Task Given_a_job_with_an_image_When_it_runs_Then_the_runner_names_the_pulled_digest_before_the_step_script_section()
    {
        var (w, log, repo) = await RunImageJob("rlog1", "echo inside the image");

        var (start, _) = StepScript(log);
        var line = ImageLine.Match(log);
        Assert.True(line.Success && line.Index < start, "the digest line comes before section_start:…:step_script");
        var registry = await RegistryAs.RegistryUrl(w.Maintainer, w.Upstream.Long("id"));
        Assert.Equal($"{registry.Authority}/{repo}:2026-03-03-r", line.Groups[2].Value);
        Assert.Equal($"{registry.Authority}/{repo}", line.Groups[3].Value);
        var user = await w.Maintainer.Get("user");
        var token = (await w.Admin.Post($"users/{user.Long("id")}/personal_access_tokens", new { name = "registry", scopes = new[] { "read_registry" } })).Str("token");
        var manifest = (await RegistryAs.User(host, registry, w.MaintainerName, token).GetManifestAsync(repo, "2026-03-03-r"))!;
        Assert.Equal(manifest.Digest, line.Groups[4].Value);
        Assert.Equal(manifest.Json["config"]!["digest"]!.GetValue<string>(), line.Groups[1].Value);
        Assert.Matches(@"section_start:\d{10}:prepare_executor\r\u001b\[0K\u001b\[0K\u001b\[36;1mPreparing the ""docker"" executor\u001b\[0;m\n", log);
        Assert.Contains("\u001b[0KPulling docker image " + line.Groups[2].Value + " ...\u001b[0;m\n", log);
        Assert.True(log.IndexOf("inside the image", start, StringComparison.Ordinal) > start);
    }

    [Fact]
    public async Task Given_a_script_that_echoes_a_forged_image_line_When_it_runs_Then_the_forgery_appears_only_inside_step_script()
    {
        var (_, log, _) = await RunImageJob("rlog2", $"printf '%s\\n' $'{Forged.Replace("\u001b", "\\e")}'");

        var (start, end) = StepScript(log);
        var forged = Regex.Matches(log, Regex.Escape(Forged)).Select(m => m.Index).ToList();
        Assert.NotEmpty(forged);
        Assert.All(forged, at => Assert.InRange(at, start, end));
        var genuine = ImageLine.Matches(log).Where(m => m.Groups[2].Value != "evil").ToList();
        Assert.Contains(genuine, m => m.Index < start);
    }
}
