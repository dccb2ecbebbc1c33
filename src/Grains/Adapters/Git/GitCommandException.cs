namespace Orchestrator.Adapters.Git;

/// <summary>A git command failed in a way the worker does not turn into a result (network, disk, a broken mirror).</summary>
public sealed class GitCommandException(string command, int exitCode, string stderr)
    : Exception($"git {command} failed ({exitCode}): {stderr.Trim()}")
{
    public string Command { get; } = command;
    public int ExitCode { get; } = exitCode;
    public string Stderr { get; } = stderr;
}
