using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Sandbox.Registry;

public sealed record Manifest(byte[] Bytes, string MediaType, string Digest)
{
    public JsonNode Json => JsonNode.Parse(Bytes)!;
}

/// <summary>
/// The Docker registry HTTP API v2 as ci-templates' skopeo uses it, with the Bearer token flow: every call asks
/// the token source for exactly the scopes it needs (pull to read, pull,push to write, both repos to mount).
/// </summary>
public sealed class RegistryClient(HttpClient http, Uri baseUrl, Func<IReadOnlyList<string>, Task<string?>> tokenSource)
{
    // Registry 2.8.2 answers 404/400 to a manifest GET without the full list.
    public const string ManifestAccept =
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
        "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    private readonly Dictionary<string, (string Token, DateTimeOffset Until)> tokens = [];

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    public async Task<Manifest?> GetManifestAsync(string name, string reference)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{name}/manifests/{reference}", [Pull(name)], accept: ManifestAccept);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await Ensure(response);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new Manifest(bytes, response.Content.Headers.ContentType?.MediaType ?? DockerManifest, Digest(bytes));
    }

    public async Task<byte[]> GetBlobAsync(string name, string digest)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{name}/blobs/{digest}", [Pull(name)]);
        await Ensure(response);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        if (Digest(bytes) != digest) throw new InvalidDataException($"blob {digest} of {name} does not match its digest");
        return bytes;
    }

    public async Task<bool> BlobExistsAsync(string name, string digest)
    {
        using var response = await SendAsync(HttpMethod.Head, $"/v2/{name}/blobs/{digest}", [PullPush(name)]);
        return response.IsSuccessStatusCode;
    }

    public async Task UploadBlobAsync(string name, byte[] bytes, string digest)
    {
        if (await BlobExistsAsync(name, digest)) return;
        using var start = await SendAsync(HttpMethod.Post, $"/v2/{name}/blobs/uploads/", [PullPush(name)]);
        await Ensure(start, HttpStatusCode.Accepted);
        await PutUploadAsync(name, start, bytes, digest);
    }

    /// <summary>Cross-repository mount; falls back to an ordinary upload when the registry answers 202.</summary>
    public async Task MountOrCopyBlobAsync(string to, string from, string digest)
    {
        if (await BlobExistsAsync(to, digest)) return;
        using var mount = await SendAsync(HttpMethod.Post, $"/v2/{to}/blobs/uploads/?mount={digest}&from={from}", [PullPush(to), Pull(from)]);
        if (mount.StatusCode == HttpStatusCode.Created) return;
        await Ensure(mount, HttpStatusCode.Accepted);
        await PutUploadAsync(to, mount, await GetBlobAsync(from, digest), digest);
    }

    private async Task PutUploadAsync(string name, HttpResponseMessage started, byte[] bytes, string digest)
    {
        // 2.8.2 answers with an absolute Location that already carries a query.
        var location = started.Headers.Location ?? throw new InvalidDataException("upload without Location");
        var url = location.IsAbsoluteUri ? location.ToString() : new Uri(baseUrl, location).ToString();
        url += (url.Contains('?') ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest);
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var put = await SendAsync(HttpMethod.Put, url, [PullPush(name)], content);
        await Ensure(put, HttpStatusCode.Created);
    }

    public async Task<string> PutManifestAsync(string name, string reference, byte[] bytes, string mediaType)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await SendAsync(HttpMethod.Put, $"/v2/{name}/manifests/{reference}", [PullPush(name)], content);
        await Ensure(response, HttpStatusCode.Created);
        return response.Headers.TryGetValues("Docker-Content-Digest", out var d) ? d.First() : Digest(bytes);
    }

    public async Task<IReadOnlyList<string>> TagsAsync(string name)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{name}/tags/list", [Pull(name)]);
        if (response.StatusCode == HttpStatusCode.NotFound) return [];
        await Ensure(response);
        var tags = JsonNode.Parse(await response.Content.ReadAsStringAsync())?["tags"]?.AsArray();
        return tags is null ? [] : [.. tags.Select(t => t!.GetValue<string>()).Order()];
    }

    public async Task<IReadOnlyList<string>> CatalogAsync()
    {
        // 2.8.2 serves at most 1000 names a page; follow `last` until a short page.
        var all = new List<string>();
        while (true)
        {
            var last = all.Count > 0 ? "&last=" + Uri.EscapeDataString(all[^1]) : "";
            using var response = await SendAsync(HttpMethod.Get, $"/v2/_catalog?n=1000{last}", ["registry:catalog:*"]);
            await Ensure(response);
            var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["repositories"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
            all.AddRange(page);
            if (page.Count < 1000) return all;
        }
    }

    public async Task DeleteManifestAsync(string name, string digest)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"/v2/{name}/manifests/{digest}", [$"repository:{name}:*"]);
        if (response.StatusCode != HttpStatusCode.NotFound) await Ensure(response, HttpStatusCode.Accepted);
    }

    public static string Pull(string name) => $"repository:{name}:pull";
    public static string PullPush(string name) => $"repository:{name}:pull,push";

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathOrUrl, IReadOnlyList<string> scopes,
        HttpContent? content = null, string? accept = null)
    {
        var key = string.Join(' ', scopes);
        if (!tokens.TryGetValue(key, out var cached) || cached.Until < DateTimeOffset.UtcNow)
        {
            var token = await tokenSource(scopes) ?? throw new UnauthorizedAccessException($"no registry token for {key}");
            // Tokens live 60 s; renew a little early rather than race the expiry.
            tokens[key] = cached = (token, DateTimeOffset.UtcNow.AddSeconds(45));
        }
        var request = new HttpRequestMessage(method, pathOrUrl.StartsWith("http") ? new Uri(pathOrUrl) : new Uri(baseUrl, pathOrUrl)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", cached.Token);
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        return await http.SendAsync(request);
    }

    private static async Task Ensure(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        if (response.StatusCode == expected || (expected == HttpStatusCode.OK && response.IsSuccessStatusCode)) return;
        var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync();
        throw new RegistryException(response.StatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: {(int)response.StatusCode} {body.Trim()}");
    }
}

public sealed class RegistryException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}
