using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Sandbox.Registry;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Sandbox.Tests;

/// <summary>The incident the orchestrator exists to prevent, reproduced with no orchestrator at all.</summary>
public sealed class IncidentTests(SandboxHost host, ITestOutputHelper output) : IClassFixture<SandboxHost>
{
    private sealed record Seed(JsonNode Summary, HttpClient Bot, HttpClient Alice, HttpClient Maintainer, long Upstream, long Fork, long MrA)
    {
        public string AliceName => Summary["users"]!["alice"]!.Str("username");
        public string AliceToken => Summary["users"]!["alice"]!.Str("token");
        public string ForkPath => Summary["fork"]!.Str("path").ToLowerInvariant();
    }

    private async Task<Seed> SeedAsync(string suffix)
    {
        var clock = Stopwatch.StartNew();
        var summary = await host.Client().Post($"/-/sandbox/seed/incident?suffix={suffix}");
        output.WriteLine($"seeded in {clock.Elapsed.TotalSeconds:F1} s");
        HttpClient As(string who) => host.Client(summary["users"]![who]!.Str("token"));
        return new Seed(summary, As("bot"), As("alice"), As("maintainer"), summary["upstream"]!.Long("id"), summary["fork"]!.Long("id"),
            summary["mr_a"]!.Long("iid"));
    }

    /// <summary>What a merge bot does first: rebase through GitLab's API and wait for it.</summary>
    private static async Task<string> RebaseA(Seed s)
    {
        var path = $"projects/{s.Upstream}/merge_requests/{s.MrA}";
        await s.Bot.Put($"{path}/rebase", expect: HttpStatusCode.Accepted);
        var done = await s.Bot.WaitFor($"{path}?include_rebase_in_progress=true", m => !m["rebase_in_progress"]!.GetValue<bool>(), TimeSpan.FromSeconds(30));
        Assert.Null(done["merge_error"]);
        return done.Str("sha");
    }

    [Fact]
    public async Task Given_the_incident_When_A_is_rebased_and_merged_naively_Then_As_pipeline_passes_on_the_stale_image_and_upstream_breaks()
    {
        var clock = Stopwatch.StartNew();
        var s = await SeedAsync("1");
        Assert.True((await s.Maintainer.Get($"projects/{s.Upstream}"))["ci_allow_fork_pipelines_to_run_in_parent_project"]!.GetValue<bool>());
        var rebased = await RebaseA(s);

        // The rebase pushed to the fork: its branch pipeline reuses the fork's image, built before B, and passes.
        var forkPipeline = await s.Alice.WaitForPipeline(s.Fork, (await s.Alice.LatestPipeline(s.Fork, "a-new-tool", rebased)).Long("id"));
        Assert.Equal("success", forkPipeline.Str("status"));
        var forkJobs = (await s.Alice.Get($"projects/{s.Fork}/pipelines/{forkPipeline.Long("id")}/jobs")).AsArray();
        Assert.Contains("exists already", await s.Alice.Trace(s.Fork, forkJobs[0]!.Long("id")));
        Assert.Contains("mesa-tool built against libfoo 1", await s.Alice.Trace(s.Fork, forkJobs[1]!.Long("id")));

        await s.Bot.WaitFor($"projects/{s.Upstream}/merge_requests/{s.MrA}", m => m.Str("detailed_merge_status") == "mergeable", TimeSpan.FromSeconds(30));
        var merged = await s.Bot.Put($"projects/{s.Upstream}/merge_requests/{s.MrA}/merge", new { sha = rebased });

        // After the merge upstream has no image with A's tag: it builds one from the merged tree, and that build fails.
        var post = await s.Maintainer.WaitForPipeline(s.Upstream, (await s.Maintainer.LatestPipeline(s.Upstream, "main", merged.Str("merge_commit_sha"))).Long("id"));
        var postJobs = (await s.Maintainer.Get($"projects/{s.Upstream}/pipelines/{post.Long("id")}/jobs")).AsArray();
        Assert.Equal("failed", post.Str("status"));
        Assert.Equal(("failed", "skipped"), (postJobs[0]!.Str("status"), postJobs[1]!.Str("status")));
        Assert.Contains("mesa-tool needs the libfoo 1 API", await s.Maintainer.Trace(s.Upstream, postJobs[0]!.Long("id")));
        output.WriteLine($"naive incident wall time {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Given_the_incident_When_As_rebased_sha_is_built_with_FDO_FORCE_REBUILD_Then_As_pipeline_fails_and_main_stays_green_and_relabelled_images_still_fail()
    {
        var clock = Stopwatch.StartNew();
        var s = await SeedAsync("2");
        var rebased = await RebaseA(s);

        // The bot may run pipelines on the fork branch because A allows collaboration.
        var forced = await s.Bot.Post($"projects/{s.Fork}/pipeline", new
        {
            @ref = "a-new-tool", variables = new[] { new { key = "FDO_FORCE_REBUILD", value = "1" } },
        });
        var done = await s.Bot.WaitForPipeline(s.Fork, forced.Long("id"));
        var jobs = (await s.Bot.Get($"projects/{s.Fork}/pipelines/{forced.Long("id")}/jobs")).AsArray();
        Assert.Equal(rebased, done.Str("sha"));
        Assert.Equal("failed", done.Str("status"));
        Assert.Contains("mesa-tool needs the libfoo 1 API", await s.Bot.Trace(s.Fork, jobs[0]!.Long("id")));
        var main = (await s.Maintainer.Get($"projects/{s.Upstream}/pipelines?ref=main"))[0]!;
        Assert.Equal(("success", s.Summary["main"]!.Str("after_b")), (main.Str("status"), main.Str("sha")));
        Assert.Equal("opened", (await s.Bot.Get($"projects/{s.Upstream}/merge_requests/{s.MrA}")).Str("state"));
        output.WriteLine($"forced-rebuild flow wall time {clock.Elapsed.TotalSeconds:F1} s");

        // Alice fixes A for libfoo 2 — and someone edits the old fork image's labels to claim the fixed commit.
        var fix = await s.Alice.Post($"projects/{s.Fork}/repository/commits", Files.Commit("a-new-tool", "ci: build mesa-tool against libfoo 2 [skip ci]",
            new Dictionary<string, string>
            {
                [".gitlab-ci/container/debian/x86_64_build.sh"] = global::Sandbox.Seed.IncidentFiles.ToolBuild(api: 2),
                ["tests/requirements.txt"] = global::Sandbox.Seed.IncidentFiles.RequirementsWithFoo(2),
            }, action: "update"));
        var registry = await RegistryAs.RegistryUrl(s.Alice, s.Fork);
        var alice = RegistryAs.User(host, registry, s.AliceName, s.AliceToken);
        var image = $"{s.ForkPath}/debian/x86_64_build";
        await Relabel(alice, image, global::Sandbox.Seed.IncidentFiles.ToolTag, fix.Str("id"));
        Assert.Equal(fix.Str("id"), (await RegistryAs.Labels(alice, image, global::Sandbox.Seed.IncidentFiles.ToolTag)).Str("fdo.commit"));

        var plain = await s.Alice.Post($"projects/{s.Fork}/pipeline", new { @ref = "a-new-tool" });
        var relabelled = await s.Alice.WaitForPipeline(s.Fork, plain.Long("id"));
        var relabelledJobs = (await s.Alice.Get($"projects/{s.Fork}/pipelines/{plain.Long("id")}/jobs")).AsArray();
        Assert.Equal("failed", relabelled.Str("status"));
        Assert.Contains("exists already", await s.Alice.Trace(s.Fork, relabelledJobs[0]!.Long("id")));
        Assert.Contains("FAIL: the image lacks libfoo >= 2", await s.Alice.Trace(s.Fork, relabelledJobs[1]!.Long("id")));

        // Built for real from the fixed tree, the image passes.
        var rebuilt = await s.Alice.Post($"projects/{s.Fork}/pipeline", new { @ref = "a-new-tool", variables = new[] { new { key = "FDO_FORCE_REBUILD", value = "1" } } });
        Assert.Equal("success", (await s.Alice.WaitForPipeline(s.Fork, rebuilt.Long("id"))).Str("status"));
    }

    /// <summary>Rewrites the image config's fdo.commit label and re-tags: same layers, new claim.</summary>
    private static async Task Relabel(RegistryClient registry, string image, string tag, string commit)
    {
        var manifest = (await registry.GetManifestAsync(image, tag))!;
        var json = manifest.Json;
        var config = JsonNode.Parse(await registry.GetBlobAsync(image, json["config"]!["digest"]!.GetValue<string>()))!;
        config["config"]!["Labels"]!["fdo.commit"] = commit;
        var bytes = Encoding.UTF8.GetBytes(config.ToJsonString());
        var digest = RegistryClient.Digest(bytes);
        await registry.UploadBlobAsync(image, bytes, digest);
        json["config"]!["digest"] = digest;
        json["config"]!["size"] = bytes.Length;
        await registry.PutManifestAsync(image, tag, Encoding.UTF8.GetBytes(json.ToJsonString()), RegistryClient.DockerManifest);
    }
}
