using System.Diagnostics;
using System.Text;

namespace Orchestrator.Adapters.Git;

/// <summary>What a git command gave back; stdout stays bytes (commit objects are not necessarily UTF-8).</summary>
internal sealed record GitOutput(int ExitCode, byte[] Stdout, string Stderr)
{
    public string Text => Encoding.UTF8.GetString(Stdout);
}

/// <summary>
/// Runs the git binary with <see cref="GitEnvironment"/> and nothing inherited: arguments never carry a secret, and
/// a command that hangs (a stalled remote) is killed with its children after the configured time.
/// </summary>
internal sealed class GitRunner(string executable, string home, Uri gitLab, string? token, TimeSpan timeout)
{
    public async Task<GitOutput> RunAsync(string? gitDir, IEnumerable<string> args, bool authenticated = false, byte[]? stdin = null,
        CancellationToken ct = default)
    {
        Directory.CreateDirectory(home);
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = home,
        };
        psi.Environment.Clear();
        foreach (var (k, v) in GitEnvironment.For(home, gitLab, authenticated ? token : null)) psi.Environment[k] = v;
        if (gitDir is not null) psi.ArgumentList.Add("--git-dir=" + gitDir);
        foreach (var a in args) psi.ArgumentList.Add(a);

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(timeout);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("git did not start");
        try
        {
            var stdout = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout, timer.Token);
            var stderr = process.StandardError.ReadToEndAsync(timer.Token);
            if (stdin is not null) await process.StandardInput.BaseStream.WriteAsync(stdin, timer.Token);
            process.StandardInput.Close();
            await process.WaitForExitAsync(timer.Token);
            await copy;
            return new GitOutput(process.ExitCode, stdout.ToArray(), await stderr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested) throw;
            throw new GitCommandException(string.Join(' ', args.Take(1)), -1, $"killed after {timeout}");
        }
    }

    /// <summary>Runs a command that must succeed; its trimmed text output.</summary>
    public async Task<string> TextAsync(string gitDir, CancellationToken ct, params string[] args)
    {
        var r = await RunAsync(gitDir, args, ct: ct);
        if (r.ExitCode != 0) throw new GitCommandException(args[0], r.ExitCode, r.Stderr);
        return r.Text.Trim();
    }
}
