using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Sandbox.Registry;

/// <summary>One access grant inside a registry token: <c>repository:&lt;name&gt;:pull,push</c>.</summary>
public sealed record RegistryAccess(string Type, string Name, IReadOnlyList<string> Actions)
{
    /// <summary>Parses a Docker token <c>scope</c> (<c>type:name:actions</c>; the name may itself contain ':' only with a port).</summary>
    public static RegistryAccess? Parse(string scope)
    {
        var first = scope.IndexOf(':');
        var last = scope.LastIndexOf(':');
        if (first <= 0 || last <= first) return null;
        return new RegistryAccess(scope[..first], scope[(first + 1)..last],
            scope[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries));
    }
}

/// <summary>
/// GitLab's side of the registry's token auth: a key pair and self-signed certificate made at start, the
/// certificate handed to the registry as its root bundle, and RS256 JWTs carrying the chain in <c>x5c</c>.
/// </summary>
public sealed class TokenIssuer : IDisposable
{
    public const string Issuer = "gitlab-issuer";
    public const string Service = "container_registry";

    private readonly RSA key = RSA.Create(2048);
    private readonly X509Certificate2 certificate;

    public TokenIssuer()
    {
        var request = new CertificateRequest("CN=gitlab-sandbox-registry-auth", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(5));
    }

    public string CertificatePem => certificate.ExportCertificatePem();

    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public string Mint(string subject, IReadOnlyList<RegistryAccess> access, DateTimeOffset now)
    {
        var header = new JsonObject
        {
            ["alg"] = "RS256",
            ["typ"] = "JWT",
            ["x5c"] = new JsonArray(Convert.ToBase64String(certificate.RawData)),
        };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = Service,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.AddSeconds(-5).ToUnixTimeSeconds(),
            ["exp"] = (now + Lifetime).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = new JsonArray([.. access.Select(a => (JsonNode?)new JsonObject
            {
                ["type"] = a.Type, ["name"] = a.Name, ["actions"] = new JsonArray([.. a.Actions.Select(x => (JsonNode?)x)]),
            })]),
        };
        var signingInput = $"{Base64Url(header.ToJsonString())}.{Base64Url(claims.ToJsonString())}";
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    private static string Base64Url(string text) => Base64Url(Encoding.UTF8.GetBytes(text));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        certificate.Dispose();
        key.Dispose();
    }
}
