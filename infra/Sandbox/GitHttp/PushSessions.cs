using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sandbox.Git;
using Sandbox.Http;

namespace Sandbox.GitHttp;

/// <summary>One receive-pack request: who pushes where, and what its pre-receive hook let through.</summary>
public sealed class PushSession(GitClient client, long projectId)
{
    /// <summary>Lets this push's hook call back; a random value that lives only as long as the request.</summary>
    public string Key { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    public GitClient Client { get; } = client;
    public long ProjectId { get; } = projectId;
    public List<RefChange> Accepted { get; } = [];
    public PushOptions Options { get; set; } = PushOptions.None;
}

/// <summary>The pushes in flight, by the key their hook presents.</summary>
public sealed class PushSessions
{
    private readonly ConcurrentDictionary<string, PushSession> open = new();

    public PushSession Open(GitClient client, long projectId)
    {
        var session = new PushSession(client, projectId);
        open[session.Key] = session;
        return session;
    }

    public PushSession? Find(string? key) => key is not null && open.TryGetValue(key, out var s) ? s : null;

    public void Close(PushSession session) => open.TryRemove(session.Key, out _);
}
