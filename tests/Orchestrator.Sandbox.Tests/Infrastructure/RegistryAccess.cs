using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Registry;

namespace Orchestrator.Sandbox.Tests.Infrastructure;

/// <summary>Reads the real registry as a user would (docker login with a personal access token).</summary>
public static class RegistryAs
{
    public static async Task<Uri> RegistryUrl(HttpClient api, long project)
    {
        // The registry's address, as GitLab publishes it in a repository's `location`… or from a job's CI_REGISTRY.
        var repos = (await api.Get($"projects/{project}/registry/repositories")).AsArray();
        var location = repos.Count > 0 ? repos[0]!.Str("location") : throw new InvalidOperationException("no repository yet");
        return new Uri("http://" + location.Split('/')[0]);
    }

    public static RegistryClient User(SandboxHost host, Uri registry, string username, string token) =>
        new(new HttpClient(), registry, async scopes =>
        {
            using var http = new HttpClient();
            var query = string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)).Prepend("service=container_registry"));
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseUrl, $"/jwt/auth?{query}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{token}")));
            using var response = await http.SendAsync(request);
            return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!.GetValue<string>() : null;
        });

    public static async Task<JsonNode> Labels(RegistryClient client, string name, string tag)
    {
        var manifest = await client.GetManifestAsync(name, tag) ?? throw new InvalidOperationException($"{name}:{tag} not found");
        var config = JsonNode.Parse(await client.GetBlobAsync(name, manifest.Json["config"]!["digest"]!.GetValue<string>()))!;
        return config["config"]!["Labels"]!;
    }
}
