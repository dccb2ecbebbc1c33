using System.Diagnostics;
using System.Text;

namespace Sandbox.Git;

public sealed class GitException(string message, int exitCode, string stderr) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
    public string Stderr { get; } = stderr;
}

public sealed record GitResult(int ExitCode, string Stdout, string Stderr);

/// <summary>The git command line, nothing more: every repository operation of the sandbox is real git.</summary>
public static class GitCli
{
    public sealed record Identity(string Name, string Email);

    public static async Task<GitResult> TryRunAsync(string? workDir, IEnumerable<string> args, string? stdin = null,
        Identity? identity = null, DateTimeOffset? date = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workDir is not null) psi.WorkingDirectory = workDir;
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
        psi.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        psi.Environment["HOME"] = Path.GetTempPath();
        psi.Environment["LC_ALL"] = "C";
        if (identity is not null)
        {
            psi.Environment["GIT_AUTHOR_NAME"] = psi.Environment["GIT_COMMITTER_NAME"] = identity.Name;
            psi.Environment["GIT_AUTHOR_EMAIL"] = psi.Environment["GIT_COMMITTER_EMAIL"] = identity.Email;
        }
        if (date is { } d)
            psi.Environment["GIT_AUTHOR_DATE"] = psi.Environment["GIT_COMMITTER_DATE"] = d.ToString("yyyy-MM-ddTHH:mm:ss.fffzzz");
        if (env is not null)
            foreach (var (k, v) in env) psi.Environment[k] = v;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("git did not start");
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new GitResult(process.ExitCode, await stdout, await stderr);
    }

    public static async Task<string> RunAsync(string? workDir, params string[] args)
    {
        var r = await TryRunAsync(workDir, args);
        if (r.ExitCode != 0)
            throw new GitException($"git {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr.Trim()}", r.ExitCode, r.Stderr);
        return r.Stdout;
    }
}
