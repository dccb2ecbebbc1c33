using System.Globalization;
using System.Security.Cryptography;

namespace Orchestrator.Bench.Workload;

/// <summary>
/// One webhook secret per project, made fresh for one orchestrator process: the orchestrator accepts a delivery only
/// with the secret of the project it names, so the bench configures each project's own (never one shared secret)
/// and registers each project's hook with exactly that one.
/// </summary>
public sealed class HookSecrets
{
    private readonly Dictionary<long, string> secrets;

    private HookSecrets(Dictionary<long, string> secrets) => this.secrets = secrets;

    public IReadOnlyCollection<long> Projects => secrets.Keys;

    /// <summary>A random secret for each project (256 bits from the OS's CSPRNG, hex as GitLab's token field takes it).</summary>
    public static HookSecrets For(IEnumerable<long> projects) =>
        new(projects.Distinct().ToDictionary(p => p, _ => RandomNumberGenerator.GetHexString(64, lowercase: true)));

    public string Of(long project) =>
        secrets.TryGetValue(project, out var secret)
            ? secret
            : throw new InvalidOperationException($"project {project} was not given a webhook secret when the orchestrator started");

    /// <summary>The settings that give each project its secret (<c>Webhooks:Projects:&lt;id&gt;:Secret</c>).</summary>
    public IEnumerable<KeyValuePair<string, string>> Settings() =>
        secrets.Select(s => KeyValuePair.Create($"Orchestrator__Webhooks__Projects__{s.Key.ToString(CultureInfo.InvariantCulture)}__Secret", s.Value));
}
