namespace Sandbox;

/// <summary>Settings of the sandbox GitLab (section <c>Sandbox</c>, or <c>Sandbox__…</c> environment variables).</summary>
public sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    /// <summary>The admin's personal access token; generated at start when empty.</summary>
    public string AdminToken { get; set; } = "";

    /// <summary>Where bare repositories live; a fresh temporary folder when empty.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>The base URL clients use (for <c>web_url</c> fields); taken from the listening address when empty.</summary>
    public string ExternalUrl { get; set; } = "";

    /// <summary>How long a rebase stays <c>rebase_in_progress</c> before it runs (GitLab rebases in Sidekiq).</summary>
    public TimeSpan RebaseDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long <c>merge_status</c> reads <c>checking</c> after a push or rebase touches a merge request.</summary>
    public TimeSpan MergeCheckDuration { get; set; } = TimeSpan.FromSeconds(1);
}
