using System.Diagnostics;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Sandbox.Tests;

/// <summary>GitLab's own Python client (Debian's python3-gitlab) drives the sandbox; ./test.sh installs it.</summary>
public sealed class PythonGitLabTests(SandboxHost host, ITestOutputHelper output) : IClassFixture<SandboxHost>
{
    [Fact]
    public Task Given_python_gitlab_When_it_runs_users_fork_commit_mr_approve_rebase_and_merge_Then_every_step_behaves_as_on_gitlab() =>
        RunScript("gitlab_flow.py", "py1");

    [Fact]
    public Task Given_python_gitlab_When_it_creates_a_pipeline_with_variables_Then_it_reads_back_jobs_variables_and_the_log() =>
        RunScript("gitlab_ci_flow.py", "py2");

    private async Task RunScript(string script, string tag)
    {
        // /usr/bin/python3 on purpose: Debian's package installs there, and a pyenv python3 earlier on PATH would not see it.
        var psi = new ProcessStartInfo("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "python", script), host.BaseUrl.ToString().TrimEnd('/'), SandboxHost.AdminToken, tag])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);

        Assert.True(process.ExitCode == 0, $"python-gitlab {script} failed:\n{await stdout}\n{await stderr}");
        Assert.EndsWith("PASS", (await stdout).Trim());
    }
}
