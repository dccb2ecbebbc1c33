using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Api.Security;

/// <summary>
/// Who called: the configured token's name, scopes, (optional) projects and (optional) GitLab user it acts for.
/// The token itself is never kept.
/// </summary>
public sealed record ApiCaller(string Name, IReadOnlySet<string> Scopes, IReadOnlySet<long> Projects, string? GitLabUser = null)
{
    public bool Allows(string scope) => Scopes.Contains(scope) || Scopes.Contains("admin");
    public bool Reaches(long project) => Projects.Count == 0 || Projects.Contains(project);

    /// <summary>Who the records name for this caller's acts: configuration, never anything the request says.</summary>
    public string Actor => GitLabUser is { } user ? $"@{user} (token {Name})" : $"token {Name}";
}

/// <summary>
/// Bearer tokens checked against the configured SHA-256 hashes in constant time: every hash is compared,
/// whether or not an earlier one matched, so timing says nothing about which or how much matched.
/// </summary>
public sealed class ApiTokens(IOptionsMonitor<OrchestratorOptions> options)
{
    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant();

    public ApiCaller? Authenticate(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim()));
        ApiCaller? match = null;
        foreach (var token in options.CurrentValue.Api.Tokens)
        {
            var expected = Convert.FromHexString(token.Sha256);
            if (CryptographicOperations.FixedTimeEquals(presented, expected) && match is null)
                match = new ApiCaller(token.Name, token.Scopes.ToHashSet(), token.Projects.ToHashSet(), token.GitLabUser);
        }
        return match;
    }
}
