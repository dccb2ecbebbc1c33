using System.Globalization;
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
/// project is on the default secret's list. Tokens are compared in constant time.
/// </summary>
public static class WebhookSecrets
{
    public static SignerVerdict Check(WebhookOptions hooks, long project, string? token)
    {
        if (hooks.Projects.TryGetValue(project.ToString(CultureInfo.InvariantCulture), out var own) && !string.IsNullOrEmpty(own.Secret))
            return Same(token, own.Secret) ? SignerVerdict.Authenticated : SignerVerdict.WrongToken;
        if (string.IsNullOrEmpty(hooks.DefaultSecret) || !Same(token, hooks.DefaultSecret)) return SignerVerdict.WrongToken;
        return hooks.DefaultSecretProjects.Contains(project) ? SignerVerdict.Authenticated : SignerVerdict.DefaultSecretNotAllowed;
    }

    private static bool Same(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
