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

    public RegistryOptions Registry { get; set; } = new();

    public CiOptions Ci { get; set; } = new();
}

public sealed class RegistryOptions
{
    /// <summary>The Debian registry binary the sandbox starts behind its token auth.</summary>
    public string Binary { get; set; } = "/usr/bin/docker-registry";

    /// <summary>Its port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }
}

public sealed class CiOptions
{
    /// <summary>Added to every job's run time: models builds that take tens of minutes, shortened for tests.</summary>
    public TimeSpan JobDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Extra delay for container build jobs when they actually build (not reuse or copy).</summary>
    public TimeSpan BuildDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Jobs that run at once across all pipelines (the instance's runners); 0 runs every job as soon as it may.</summary>
    public int Runners { get; set; }
}
