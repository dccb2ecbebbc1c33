using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Sandbox;
using Sandbox.Git;
using Sandbox.Model;
using Xunit;

namespace Orchestrator.Sandbox.Tests;

/// <summary>
/// The sandbox with a switch that holds a project's lock as long as a test wants (<see cref="SandboxStore.Locked"/>):
/// the first time the armed project's lock is taken, the operation that took it stops there, inside it.
/// </summary>
public sealed class HeldLockHost : IAsyncLifetime
{
    private LoopbackSandbox? sandbox;
    private long armed;
    private TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HttpClient Admin { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public SandboxStore Store => sandbox!.Store;

    public async Task InitializeAsync()
    {
        sandbox = await LoopbackSandbox.StartAsync(SandboxHost.AdminToken, new Dictionary<string, string?>
        {
            ["Sandbox:MergeCheckDuration"] = "00:00:00.1",
        });
        BaseUrl = new Uri(sandbox.BaseUrl);
        Admin = new HttpClient { BaseAddress = new Uri(BaseUrl, "/api/v4/") };
        Admin.DefaultRequestHeaders.Add("PRIVATE-TOKEN", SandboxHost.AdminToken);
        sandbox.Store.Locked = async project =>
        {
            if (project.Id != Interlocked.Read(ref armed) || Interlocked.CompareExchange(ref armed, 0, project.Id) != project.Id) return;
            held.TrySetResult();
            await release.Task;
        };
    }

    /// <summary>The next operation that locks <paramref name="projectId"/> stops inside the lock until <see cref="Release"/>.</summary>
    public void Arm(long projectId)
    {
        held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref armed, projectId);
    }

    /// <summary>Done once an operation holds the armed project's lock.</summary>
    public Task Held => held.Task;

    public void Release() => release.TrySetResult();

    public async Task DisposeAsync()
    {
        Release();
        Admin.Dispose();
        if (sandbox is not null) await sandbox.DisposeAsync();
    }
}

/// <summary>
/// No gate over the whole sandbox: an operation holds only its own project's (fork network's) lock, so another
/// project's reads, writes and git traffic go on while it runs, as on GitLab.
/// </summary>
public sealed class ProjectLockTests(HeldLockHost host) : IClassFixture<HeldLockHost>
{
    // Far above what the calls take on a loaded machine; they would wait for the release, never come, under one gate.
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(20);

    private async Task<(long Project, JsonNode Path)> ProjectWithMr(string name)
    {
        var admin = host.Admin;
        var project = await admin.Post("projects", new { name, initialize_with_readme = true });
        var id = project.Long("id");
        await admin.Post($"projects/{id}/repository/commits", World.Commit("topic", "Add a file", "topic.txt", "topic\n", startBranch: "main"));
        await admin.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "Topic" });
        await admin.WaitFor($"projects/{id}/merge_requests/1", mr => mr.Str("detailed_merge_status") == "mergeable", Bounded);
        return (id, project);
    }

    [Fact]
    public async Task Given_a_merge_held_inside_project_B_When_project_A_is_read_written_and_fetched_Then_A_answers_while_B_waits()
    {
        var (a, aProject) = await ProjectWithMr("lock-a");
        var (b, _) = await ProjectWithMr("lock-b");

        host.Arm(b);
        var merge = host.Admin.Put($"projects/{b}/merge_requests/1/merge", new { });
        await host.Held.WaitAsync(Bounded);
        var readB = host.Admin.Get($"projects/{b}/merge_requests/1");

        // A's reads (the MR view runs git on A's repository), a write and a fetch over git: none waits for B's merge.
        var login = new GitLogin("root", SandboxHost.AdminToken);
        var onA = await Task.WhenAll(
            host.Admin.Get($"projects/{a}"),
            host.Admin.Get($"projects/{a}/merge_requests/1"),
            host.Admin.Post($"projects/{a}/repository/commits", World.Commit("main", "Meanwhile on A", "a.txt", "a\n"))).WaitAsync(Bounded);
        var fetch = await GitRemote.Run(null, login, "ls-remote", new Uri(host.BaseUrl, aProject.Str("path_with_namespace") + ".git").ToString())
            .WaitAsync(Bounded);

        Assert.Equal(a, onA[0].Long("id"));
        Assert.Equal("opened", onA[1].Str("state"));
        Assert.Equal(0, fetch.ExitCode);
        Assert.Contains(onA[2].Str("id"), fetch.Stdout);
        // B's own calls wait for its merge, which is still held inside B's lock.
        Assert.False(merge.IsCompleted, "the held merge answered before it was released");
        Assert.False(readB.IsCompleted, "a read of B went past B's held merge");

        host.Release();
        Assert.Equal("merged", (await merge.WaitAsync(Bounded)).Str("state"));
        Assert.Equal("merged", (await readB.WaitAsync(Bounded)).Str("state"));
    }

    [Fact]
    public async Task Given_a_rebase_whose_git_work_ran_outside_the_lock_When_the_branch_moved_meanwhile_Then_it_fails_by_lease_and_keeps_the_branch()
    {
        var (id, _) = await ProjectWithMr("lock-lease");
        await host.Admin.Post($"projects/{id}/repository/commits", World.Commit("main", "Main moves on", "main.txt", "main\n"));
        var path = $"projects/{id}/merge_requests/1";
        var repo = host.Store.Projects[id].RepoPath;
        var moved = (await GitCli.RunAsync(repo, "rev-parse", "refs/heads/main")).Trim();

        await host.Admin.Put($"{path}/rebase", new { skip_ci = true }, System.Net.HttpStatusCode.Accepted);
        // The rebase has rebased in its scratch repository and waits, inside the project's lock, to move the branch.
        host.Arm(id);
        await host.Held.WaitAsync(Bounded);
        await GitCli.RunAsync(repo, "update-ref", "refs/heads/topic", moved);
        host.Release();

        var done = await host.Admin.WaitFor($"{path}?include_rebase_in_progress=true", m => !m["rebase_in_progress"]!.GetValue<bool>(), Bounded);
        Assert.Equal("Rebase failed: the source branch changed during the rebase. Try again.", done.Str("merge_error"));
        Assert.Equal(moved, (await GitCli.RunAsync(repo, "rev-parse", "refs/heads/topic")).Trim());
    }
}
