using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Domain;

namespace Orchestrator.Adapters;

public sealed class RegistryException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>
/// Docker registry API v2 with GitLab's token flow: a 401 names the realm (<c>/jwt/auth</c>), service and scope;
/// the bot's username and token buy a short-lived bearer token for exactly that scope.
/// </summary>
public sealed class RegistryClient(HttpClient http, RegistryCredentials credentials) : IImageRegistry
{
    // Registry 2.8.2 answers 404/400 to a manifest GET without the full list.
    private const string ManifestAccept =
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
        "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

    private readonly Dictionary<string, (string Token, DateTimeOffset Until)> tokens = [];
    private readonly SemaphoreSlim tokenGate = new(1, 1);

    public async Task<RegistryImage?> InspectAsync(string repository, string reference, CancellationToken ct)
    {
        var manifest = await GetManifestAsync(repository, reference, ct);
        if (manifest is null) return null;
        var configDigest = JsonNode.Parse(manifest.Value.Bytes)!["config"]?["digest"]?.GetValue<string>();
        if (configDigest is null) return new RegistryImage(manifest.Value.Digest, null, null, null);
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{configDigest}", $"repository:{repository}:pull", null, null, ct);
        await Ensure(response, ct);
        var labels = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?["config"]?["Labels"];
        static long? Number(JsonNode? n) => long.TryParse(n?.GetValue<string>(), out var v) ? v : null;
        return new RegistryImage(manifest.Value.Digest, labels?["fdo.commit"]?.GetValue<string>(), Number(labels?["fdo.pipeline_id"]), Number(labels?["fdo.job_id"]));
    }

    public async Task<string> CopyAsync(string fromRepository, string digest, string toRepository, string tag, CancellationToken ct)
    {
        var manifest = await GetManifestAsync(fromRepository, digest, ct)
            ?? throw new RegistryException(HttpStatusCode.NotFound, $"{fromRepository}@{digest} does not exist");
        if (manifest.Digest != digest) throw new RegistryException(HttpStatusCode.Conflict, $"{fromRepository}@{digest} came back as {manifest.Digest}");
        var json = JsonNode.Parse(manifest.Bytes)!;
        var blobs = new[] { json["config"]!["digest"]!.GetValue<string>() }
            .Concat(json["layers"]!.AsArray().Select(l => l!["digest"]!.GetValue<string>()));
        var scope = $"repository:{toRepository}:pull,push repository:{fromRepository}:pull";
        foreach (var blob in blobs)
        {
            using var mount = await SendAsync(HttpMethod.Post, $"/v2/{toRepository}/blobs/uploads/?mount={blob}&from={fromRepository}", scope, null, null, ct);
            if (mount.StatusCode == HttpStatusCode.Created) continue;
            // 202: the registry would not mount (e.g. no pull right on the source); cancel the upload and say why.
            throw new RegistryException(mount.StatusCode, $"could not mount {blob} from {fromRepository} into {toRepository}");
        }
        using var content = new ByteArrayContent(manifest.Bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
        using var put = await SendAsync(HttpMethod.Put, $"/v2/{toRepository}/manifests/{tag}", $"repository:{toRepository}:pull,push", content, null, ct);
        await Ensure(put, ct);
        return put.Headers.TryGetValues("Docker-Content-Digest", out var d) ? d.First() : Digest(manifest.Bytes);
    }

    public async Task<string?> DigestAsync(string repository, string reference, CancellationToken ct) =>
        (await GetManifestAsync(repository, reference, ct))?.Digest;

    public async Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken ct)
    {
        const int pages = 100, perPage = 1000;
        var tags = new List<string>();
        var path = $"/v2/{repository}/tags/list?n={perPage}";
        // The registry pages with a Link header; an unknown repository is a 404 with no tags.
        for (var page = 0; path is not null; page++)
        {
            // A partial list would be read as "these are all the tags": a snapshot missing some could not see them change.
            if (page == pages)
                throw new RegistryException(HttpStatusCode.RequestEntityTooLarge,
                    $"{repository} lists more than {pages * perPage} tags; reading only some would leave changes to the others unseen");
            using var response = await SendAsync(HttpMethod.Get, path, $"repository:{repository}:pull", null, null, ct);
            // Only the first page's 404 means "no such repository"; a later one means it went away mid-list, and what was
            // read is not all of it.
            if (response.StatusCode == HttpStatusCode.NotFound)
                return page == 0 ? tags : throw new RegistryException(HttpStatusCode.NotFound, $"{repository} went away while its tags were listed");
            await Ensure(response, ct);
            var list = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?["tags"] as JsonArray;
            tags.AddRange((list ?? []).Select(t => t!.GetValue<string>()));
            path = response.Headers.TryGetValues("Link", out var links) && links.First().Split(';')[0].Trim('<', '>', ' ') is { Length: > 0 } next ? next : null;
        }
        return tags;
    }

    public async Task DeleteAsync(string repository, string digest, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{digest}", $"repository:{repository}:*", null, null, ct);
        if (response.StatusCode != HttpStatusCode.NotFound) await Ensure(response, ct);
    }

    private async Task<(byte[] Bytes, string MediaType, string Digest)?> GetManifestAsync(string repository, string reference, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{reference}", $"repository:{repository}:pull", null, ManifestAccept, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await Ensure(response, ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        return (bytes, response.Content.Headers.ContentType?.MediaType ?? "application/vnd.docker.distribution.manifest.v2+json", Digest(bytes));
    }

    private static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string scope, HttpContent? content, string? accept, CancellationToken ct)
    {
        HttpRequestMessage Build(string? token)
        {
            var request = new HttpRequestMessage(method, new Uri(credentials.BaseUrl, path)) { Content = content };
            if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
            if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return request;
        }
        var cached = await CachedToken(scope);
        var response = await http.SendAsync(Build(cached), ct);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
        // The challenge names the realm and service; the token is bought for exactly our scope.
        var challenge = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme == "Bearer")?.Parameter;
        response.Dispose();
        if (challenge is null) throw new RegistryException(HttpStatusCode.Unauthorized, $"{path}: the registry asked for no bearer token");
        var token = await FetchToken(challenge, scope, ct);
        return await http.SendAsync(Build(token), ct);
    }

    private async Task<string?> CachedToken(string scope)
    {
        await tokenGate.WaitAsync();
        try
        {
            return tokens.TryGetValue(scope, out var t) && t.Until > DateTimeOffset.UtcNow ? t.Token : null;
        }
        finally
        {
            tokenGate.Release();
        }
    }

    private async Task<string> FetchToken(string challenge, string scope, CancellationToken ct)
    {
        var parts = challenge.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim().Trim('"'));
        var query = $"service={Uri.EscapeDataString(parts.GetValueOrDefault("service", ""))}&" +
                    string.Join('&', scope.Split(' ').Select(s => "scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{parts["realm"]}?{query}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Token}")));
        using var response = await http.SendAsync(request, ct);
        await Ensure(response, ct);
        var token = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["token"]!.GetValue<string>();
        await tokenGate.WaitAsync(ct);
        // GitLab's registry tokens live 60 s; renew a little early rather than race the expiry.
        try { tokens[scope] = (token, DateTimeOffset.UtcNow.AddSeconds(45)); } finally { tokenGate.Release(); }
        return token;
    }

    private static async Task Ensure(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        throw new RegistryException(response.StatusCode,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: {(int)response.StatusCode} {body.Trim()}");
    }
}

/// <summary>Where the registry is and whose token buys access (the bot's: username and personal access token).</summary>
public sealed record RegistryCredentials(Uri BaseUrl, string Username, string Token);
