extern alias sandbox;

using System.Text.Json.Nodes;
using Orchestrator.Bench.Baseline;
using Orchestrator.Bench.Workload;
using sandbox::Sandbox.Seed;

namespace Orchestrator.Bench;

/// <summary>
/// Figure 3: image builds and breakages on a seeded history, per merge policy. Each round seeds the incident afresh
/// (B merged with an unbumped input change; A's tag bump with a stale image built in alice's fork), then asks, in
/// order: bob's docs MR, A, alice's fix for A if A was not merged, bob's second docs MR. Counted afterwards from
/// the sandbox alone (every pipeline after the seed, upstream and fork): container jobs that built, post-merge
/// pipelines on main that failed, and post-merge pipelines that found a newly bumped tag already upstream.
/// </summary>
public static class EconomyBench
{
    public static readonly string[] Policies = ["orchestrator", "never-force", "always-force"];

    public static async Task<JsonObject> RunAsync(BenchContext ctx, int rounds)
    {
        var result = new JsonObject { ["rounds"] = rounds, ["history_per_round"] = "docs MR, A (stale fork image), A fixed if still open, docs MR" };
        foreach (var policy in Policies)
        {
            var totals = new Tally();
            for (var round = 0; round < rounds; round++)
            {
                var tally = await RoundAsync(ctx, policy, round);
                totals.Add(tally);
                ctx.Progress($"economy: {policy} round {round}: {tally}");
            }
            result[policy] = totals.ToJson();
        }
        return result;
    }

    private sealed class Tally
    {
        public int Builds, PostMergeBuilds, AvoidedByPromotion, PostMergeBreakages, Merged, Requests;

        public void Add(Tally t)
        {
            Builds += t.Builds; PostMergeBuilds += t.PostMergeBuilds; AvoidedByPromotion += t.AvoidedByPromotion;
            PostMergeBreakages += t.PostMergeBreakages; Merged += t.Merged; Requests += t.Requests;
        }

        public JsonObject ToJson() => new()
        {
            ["image_builds"] = Builds, ["post_merge_builds"] = PostMergeBuilds, ["builds_avoided_by_promotion"] = AvoidedByPromotion,
            ["post_merge_breakages"] = PostMergeBreakages, ["merged"] = Merged, ["merge_requests_asked"] = Requests,
        };

        public override string ToString() =>
            $"builds {Builds} (post-merge {PostMergeBuilds}), avoided {AvoidedByPromotion}, breakages {PostMergeBreakages}, merged {Merged}/{Requests}";
    }

    private static async Task<Tally> RoundAsync(BenchContext ctx, string policy, int round)
    {
        var tag = $"-{policy[..5]}{round}";
        using var http = new HttpClient { BaseAddress = new Uri(ctx.Sandbox.BaseUrl.TrimEnd('/') + "/api/v4/"), Timeout = TimeSpan.FromMinutes(3) };
        var seeder = new IncidentSeeder(http, SandboxHost.AdminToken);
        var seed = await seeder.SeedAsync(tag);
        var up = seed["upstream"]!["id"]!.GetValue<long>();
        var fork = seed["fork"]!["id"]!.GetValue<long>();
        var upstreamPath = seed["upstream"]!["path"]!.GetValue<string>();
        Rest As(string who) => Rest.GitLab(ctx.Sandbox.BaseUrl, seed["users"]![who]!["token"]!.GetValue<string>());
        var maintainer = As("maintainer");

        if (policy == "always-force")
        {
            // The naive cure: FDO_FORCE_REBUILD for every pipeline of the project, set once in its CI file.
            var ci = await maintainer.GetText($"projects/{up}/repository/files/.gitlab-ci.yml/raw?ref=main");
            var forced = ci.Replace($"FDO_UPSTREAM_REPO: {upstreamPath}", $"FDO_UPSTREAM_REPO: {upstreamPath}\n  FDO_FORCE_REBUILD: \"1\"");
            await maintainer.Post($"projects/{up}/repository/commits", new
            {
                branch = "main", commit_message = "ci: always rebuild images",
                actions = new[] { new { action = "update", file_path = ".gitlab-ci.yml", content = forced } },
            });
        }
        var bob = As("bob");
        var docs = new List<long>();
        foreach (var branch in new[] { "docs-1", "docs-2" })
        {
            await bob.Post($"projects/{up}/repository/commits", new
            {
                branch, start_branch = "main", commit_message = $"docs: {branch}",
                actions = new[] { new { action = "create", file_path = $"docs/{branch}.md", content = $"{branch}\n" } },
            });
            docs.Add((await bob.Post($"projects/{up}/merge_requests", new { source_branch = branch, target_branch = "main", title = $"docs: {branch}" }))["iid"]!.GetValue<long>());
        }
        await BenchProjects.DrainPipelinesAsync(maintainer, up);
        await BenchProjects.DrainPipelinesAsync(maintainer, fork);
        var watermark = Math.Max(await MaxPipelineAsync(maintainer, up), await MaxPipelineAsync(maintainer, fork));

        var mrA = seed["mr_a"]!["iid"]!.GetValue<long>();
        var tally = new Tally();
        Func<long, Task<bool>> merge;
        OrchestratorProcess? orchestrator = null;
        if (policy == "orchestrator")
        {
            var bot = seed["users"]!["bot"]!;
            // The seed's maintainer asks for the merges (as a Maintainer of mesa may); the fork signs its own hooks
            // (its pipelines name the upstream MR), the upstream its own.
            orchestrator = await ctx.StartOrchestratorAsync($"econ{round}", bot["username"]!.GetValue<string>(), bot["token"]!.GetValue<string>(),
                seed["users"]!["maintainer"]!["username"]!.GetValue<string>(), [up, fork]);
            await orchestrator.AddHookAsync(maintainer, up);
            await orchestrator.AddHookAsync(As("alice"), fork);
            await BenchProjects.PutPolicyAsync(orchestrator.Api, up, new
            {
                images = new[] { new { name = "debian/x86_64_build", tagFile = ".gitlab-ci/image-tags.yml", tagKey = "DEBIAN_BUILD_TAG", inputs = new[] { ".gitlab-ci/container/**" } } },
                upstreamRepo = upstreamPath, ciTimeoutMinutes = 10, maxRebases = 3,
                // The sandbox's ci-templates build job runs in a shell executor, which names no image.
                unverifiedJobs = new[] { "debian/x86_64_build" },
            });
            merge = async iid =>
            {
                await OrchestratorWatch.EnqueueAsync(orchestrator.Requests, up, iid);
                return (await OrchestratorWatch.WaitAsync(orchestrator.Api, up, iid, TimeSpan.FromMinutes(5))).State == "completed";
            };
        }
        else
        {
            // Counts do not depend on how often the baseline looks at CI; it looks every 2 s here to keep the run short.
            var bot = new MargeStyleBot(As("bot"), ciPoll: TimeSpan.FromSeconds(2), stepPoll: TimeSpan.FromSeconds(1));
            merge = async iid => (await bot.MergeAsync(up, iid)).Merged;
        }

        try
        {
            async Task Ask(long iid)
            {
                tally.Requests++;
                if (await merge(iid)) tally.Merged++;
            }
            await Ask(docs[0]);
            await Ask(mrA);
            var a = await maintainer.Get($"projects/{up}/merge_requests/{mrA}");
            if (a["state"]!.GetValue<string>() == "opened")
            {
                await seeder.FixAAsync(seed["users"]!["alice"]!["token"]!.GetValue<string>(), fork);
                await BenchProjects.DrainPipelinesAsync(maintainer, fork);
                await Ask(mrA);
            }
            await Ask(docs[1]);
            await BenchProjects.DrainPipelinesAsync(maintainer, up);
            await BenchProjects.DrainPipelinesAsync(maintainer, fork);
        }
        finally
        {
            if (orchestrator is not null) await orchestrator.DisposeAsync();
        }

        foreach (var project in new[] { up, fork })
        {
            foreach (var pipeline in (await maintainer.Get($"projects/{project}/pipelines?per_page=100")).AsArray()
                         .Where(p => p!["id"]!.GetValue<long>() > watermark))
            {
                var id = pipeline!["id"]!.GetValue<long>();
                var postMerge = project == up && pipeline["ref"]!.GetValue<string>() == "main";
                var job = (await maintainer.Get($"projects/{project}/pipelines/{id}/jobs")).AsArray()
                    .FirstOrDefault(j => j!["name"]!.GetValue<string>() == "debian/x86_64_build");
                var log = job is null ? "" : await maintainer.GetText($"projects/{project}/jobs/{job["id"]}/trace");
                var built = log.Contains("Building with");
                if (built) tally.Builds++;
                if (!postMerge) continue;
                if (built) tally.PostMergeBuilds++;
                if (pipeline["status"]!.GetValue<string>() == "failed") tally.PostMergeBreakages++;
                if (log.Contains("exists already") && await TagBumpedAsync(maintainer, up, pipeline["sha"]!.GetValue<string>())) tally.AvoidedByPromotion++;
            }
        }
        return tally;
    }

    private static async Task<long> MaxPipelineAsync(Rest gitlab, long project) =>
        (await gitlab.Get($"projects/{project}/pipelines?per_page=100")).AsArray().Select(p => p!["id"]!.GetValue<long>()).DefaultIfEmpty(0).Max();

    /// <summary>Whether this commit of main names another image tag than its first parent: a merge that bumped it.</summary>
    private static async Task<bool> TagBumpedAsync(Rest gitlab, long project, string sha)
    {
        var commit = await gitlab.Get($"projects/{project}/repository/commits/{sha}");
        var parent = commit["parent_ids"]!.AsArray().FirstOrDefault()?.GetValue<string>();
        if (parent is null) return false;
        const string file = "repository/files/.gitlab-ci%2Fimage-tags.yml/raw";
        return await gitlab.GetText($"projects/{project}/{file}?ref={sha}") != await gitlab.GetText($"projects/{project}/{file}?ref={parent}");
    }
}
