extern alias sandbox;

using System.Text;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain.Trailers;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Git.GitWorld;

namespace Orchestrator.IntegrationTests.Git;

/// <summary>
/// The repositories are untrusted: nothing in them (attributes naming drivers, submodules, hook scripts) and nothing a
/// machine commonly configures (global drivers, hooks from a template) may run; the token shows nowhere.
/// </summary>
public sealed class GitWorkerSafetyTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    private static readonly string[] HookNames =
        ["pre-push", "reference-transaction", "post-checkout", "post-merge", "post-rewrite", "pre-auto-gc", "pre-commit", "post-commit", "push-to-checkout"];

    [Fact]
    public async Task Given_a_repository_with_a_filter_attribute_a_submodule_and_hooks_When_rewritten_Then_none_of_it_runs_and_the_tree_is_kept()
    {
        var w = await CreateAsync(sandbox, "hostile");
        var markers = Directory.CreateTempSubdirectory("git-markers-").FullName;
        var drivers = Drivers(markers);
        var (expected, vendor) = await HostileBranches(w, markers);
        var worker = w.Worker();
        var mirror = worker.MirrorPath(w.Upstream.Id);
        await PlantTraps(mirror, Path.Combine(w.MirrorRoot, ".home"), markers, drivers);
        await Control(w, markers, drivers, mirror);
        foreach (var f in Directory.GetFiles(markers)) File.Delete(f);

        var result = await worker.RewriteAsync(new GitRewrite(w.Upstream, "hostile", w.Upstream, "topic", expected, null, [Reviewed], Bot, SkipCi: true));

        var pushed = Assert.IsType<GitRewriteResult.Pushed>(result);
        Assert.Empty(Directory.GetFiles(markers).Select(Path.GetFileName));
        Assert.False(Directory.Exists(Path.Combine(mirror, "modules")));
        Assert.Contains($"160000 commit {vendor}\tvendor", await RunGit(null, "--git-dir=" + mirror, "ls-tree", pushed.Head));
        var shared = (await RunGit(null, "--git-dir=" + mirror, "show", pushed.Head + ":shared.txt")).Split('\n');
        Assert.Equal(("line 1 by main", "line 12 by topic"), (shared[0], shared[11]));
    }

    [Fact]
    public async Task Given_a_fetch_and_push_under_way_When_the_process_list_and_the_mirror_are_read_Then_the_token_is_in_neither()
    {
        var w = await CreateAsync(sandbox, "token");
        var expected = await Commit(w.Author, w.Upstream, "topic", "Change", "t.txt", "t\n", startBranch: "main");
        await Commit(w.Maintainer, w.Upstream, "main", "Main moves on", "main.txt", "main\n");
        var secrets = new[] { w.BotToken, Convert.ToBase64String(Encoding.UTF8.GetBytes("oauth2:" + w.BotToken)) };
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleCommandLines(stop.Token));

        var result = await w.Worker().RewriteAsync(w.Rewrite(w.Upstream, "topic", expected, Reviewed));
        await stop.CancelAsync();
        var seen = await sampler;

        Assert.IsType<GitRewriteResult.Pushed>(result);
        // The sampling did see the worker talking to GitLab, so its silence about the token means something.
        Assert.Contains(seen, c => c.Contains(w.Upstream.PathWithNamespace, StringComparison.Ordinal));
        Assert.DoesNotContain(seen, c => secrets.Any(s => c.Contains(s, StringComparison.Ordinal)));
        foreach (var file in Directory.EnumerateFiles(w.MirrorRoot, "*", SearchOption.AllDirectories))
        {
            var text = Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
            Assert.False(secrets.Any(s => text.Contains(s, StringComparison.Ordinal)), $"the token is in {file}");
        }
    }

    /// <summary>Every command line of the machine's processes, read from /proc as fast as it goes until stopped.</summary>
    private static HashSet<string> SampleCommandLines(CancellationToken stop)
    {
        var seen = new HashSet<string>();
        while (!stop.IsCancellationRequested)
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!char.IsAsciiDigit(Path.GetFileName(dir)[0])) continue;
                try
                {
                    var line = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                    if (line.Contains("git", StringComparison.Ordinal)) seen.Add(line);
                }
                catch (IOException)
                {
                    // The process ended between listing and reading.
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        return seen;
    }

    /// <summary>Programs a careless git would run: each leaves a marker file named after itself.</summary>
    private static Dictionary<string, string> Drivers(string markers) => new()
    {
        ["filter.marker.clean"] = $"sh -c 'touch {markers}/filter-clean; cat'",
        ["filter.marker.smudge"] = $"sh -c 'touch {markers}/filter-smudge; cat'",
        ["filter.marker.required"] = "true",
        ["merge.marker.driver"] = $"sh -c 'touch {markers}/merge-driver'",
        ["diff.marker.textconv"] = $"sh -c 'touch {markers}/textconv; cat \"$0\"'",
        ["submodule.vendor.update"] = $"!touch {markers}/submodule-update",
        ["filter.lfs.process"] = $"sh -c 'touch {markers}/lfs-process'",
    };

    /// <summary>
    /// Branch <c>hostile</c> carries a .gitattributes naming the drivers for every file, a submodule and an in-repository
    /// hooks folder; <c>topic</c> changes line 12 of a file whose line 1 <c>hostile</c> changes later, so the rebase
    /// has to merge that file's content. Returns topic's head and the submodule's commit.
    /// </summary>
    private static async Task<(string Topic, string Vendor)> HostileBranches(GitWorld w, string markers)
    {
        var clone = Directory.CreateTempSubdirectory("git-hostile-").FullName;
        await RunGit(clone, "init", "-q", "-b", "hostile");
        var lines = Enumerable.Range(1, 12).Select(i => $"line {i}").ToArray();
        await File.WriteAllTextAsync(Path.Combine(clone, ".gitattributes"), "* filter=marker merge=marker diff=marker\n");
        await File.WriteAllTextAsync(Path.Combine(clone, ".gitmodules"), $"[submodule \"vendor\"]\n\tpath = vendor\n\turl = {w.Url(w.Fork)}\n");
        await File.WriteAllTextAsync(Path.Combine(clone, "shared.txt"), string.Join('\n', lines) + "\n");
        Directory.CreateDirectory(Path.Combine(clone, ".githooks"));
        await File.WriteAllTextAsync(Path.Combine(clone, ".githooks", "pre-push"), $"#!/bin/sh\ntouch {markers}/repository-hook\n");
        var vendor = (await w.Head(w.Upstream, "main"))!;
        await RunGit(clone, "add", ".");
        await RunGit(clone, "update-index", "--add", "--cacheinfo", $"160000,{vendor},vendor");
        // An uninitialised submodule is an empty folder; without it "commit -a" would record the submodule's removal.
        Directory.CreateDirectory(Path.Combine(clone, "vendor"));
        await RunGit(clone, "commit", "-q", "-m", "Hostile base");
        await RunGit(clone, "checkout", "-q", "-b", "topic");
        lines[11] = "line 12 by topic";
        await File.WriteAllTextAsync(Path.Combine(clone, "shared.txt"), string.Join('\n', lines) + "\n");
        await RunGit(clone, "commit", "-q", "-am", "Topic changes line 12");
        var topic = (await RunGit(clone, "rev-parse", "HEAD")).Trim();
        await RunGit(clone, "checkout", "-q", "hostile");
        await File.WriteAllTextAsync(Path.Combine(clone, "shared.txt"), "line 1 by main\n" + string.Join('\n', lines[1..11]) + "\nline 12\n");
        await RunGit(clone, "commit", "-q", "-am", "Main changes line 1");
        await w.AuthorGit(clone, "push", "-q", w.Url(w.Upstream), "hostile:refs/heads/hostile", "topic:refs/heads/topic");
        return (topic, vendor);
    }

    /// <summary>
    /// The traps, where a git that trusted its surroundings would find them: hooks in the mirror (as a template would
    /// put them) and the drivers in the mirror's own config and in the worker's home, beside <c>core.hooksPath</c>.
    /// </summary>
    private static async Task PlantTraps(string mirror, string home, string markers, Dictionary<string, string> drivers)
    {
        await RunGit(null, "init", "-q", "--bare", "--template=", mirror);
        Directory.CreateDirectory(Path.Combine(mirror, "hooks"));
        foreach (var hook in HookNames)
        {
            var path = Path.Combine(mirror, "hooks", hook);
            await File.WriteAllTextAsync(path, $"#!/bin/sh\ntouch {markers}/hook-{hook}\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Directory.CreateDirectory(home);
        foreach (var config in new[] { Path.Combine(mirror, "config"), Path.Combine(home, ".gitconfig") })
        {
            await RunGit(null, "config", "-f", config, "core.hooksPath", Path.Combine(mirror, "hooks"));
            foreach (var (key, value) in drivers) await RunGit(null, "config", "-f", config, key, value);
        }
    }

    /// <summary>The same traps do fire for an ordinary clone, checkout and cherry-pick: the test could fail.</summary>
    private static async Task Control(GitWorld w, string markers, Dictionary<string, string> drivers, string mirror)
    {
        var control = Path.Combine(Directory.CreateTempSubdirectory("git-control-").FullName, "c");
        var config = drivers.SelectMany(d => new[] { "-c", $"{d.Key}={d.Value}" }).Concat(["-c", $"core.hooksPath={Path.Combine(mirror, "hooks")}"]).ToArray();
        await w.AuthorGit(null, [.. config, "clone", "-q", "-b", "hostile", w.Url(w.Upstream), control]);
        // The merge driver keeps "ours", so git may call the pick empty: only the markers matter here.
        await sandbox::Sandbox.Git.GitCli.TryRunAsync(control, [.. config, "cherry-pick", "origin/topic"]);
        var fired = Directory.GetFiles(markers).Select(Path.GetFileName).ToHashSet();
        Assert.Superset(new HashSet<string?> { "filter-smudge", "hook-post-checkout", "merge-driver" }, fired);
    }
}
