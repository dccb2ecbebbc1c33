using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Hosting;

namespace Orchestrator.Api.Webhooks;

public enum SignerVerdict
{
    Authenticated,
    /// <summary>No secret configured for the project accepts this token (or none is configured: the same answer, so that is not learnt).</summary>
    WrongToken,
    /// <summary>The default secret, presented for a project not on its list.</summary>
    DefaultSecretNotAllowed,
}

/// <summary>
/// Which secret may sign for a project: its own if it has one (and then only that), else the default secret if the
/// project is on the default secret's list. Tokens are compared in constant time, as SHA-256 digests; the expected
/// digests are computed once per configuration (a reload binds new options, which get digests of their own).
/// </summary>
public static class WebhookSecrets
{
    private static readonly ConditionalWeakTable<WebhookOptions, Digests> digests = new();

    public static SignerVerdict Check(WebhookOptions hooks, long project, string? token)
    {
        var expected = digests.GetValue(hooks, h => new Digests(h));
        if (expected.Own.TryGetValue(project, out var own)) return Same(token, own) ? SignerVerdict.Authenticated : SignerVerdict.WrongToken;
        if (expected.Default is not { } shared || !Same(token, shared)) return SignerVerdict.WrongToken;
        return hooks.DefaultSecretProjects.Contains(project) ? SignerVerdict.Authenticated : SignerVerdict.DefaultSecretNotAllowed;
    }

    private static bool Same(string? presented, byte[] expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected);

    private sealed class Digests(WebhookOptions hooks)
    {
        public Dictionary<long, byte[]> Own { get; } = hooks.Projects
            .Where(p => !string.IsNullOrEmpty(p.Value.Secret) && long.TryParse(p.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .ToDictionary(p => long.Parse(p.Key, NumberStyles.None, CultureInfo.InvariantCulture), p => SHA256.HashData(Encoding.UTF8.GetBytes(p.Value.Secret!)));

        public byte[]? Default { get; } = string.IsNullOrEmpty(hooks.DefaultSecret) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(hooks.DefaultSecret));
    }
}
