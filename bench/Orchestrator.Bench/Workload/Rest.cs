using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Workload;

/// <summary>JSON over HTTP for the benchmark's own calls (sandbox GitLab and the orchestrator's API), failing loudly.</summary>
public sealed class Rest(HttpClient http)
{
    public HttpClient Http => http;

    public static Rest GitLab(string baseUrl, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/api/v4/"), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("PRIVATE-TOKEN", token);
        return new Rest(client);
    }

    public static Rest Orchestrator(string baseUrl, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return new Rest(client);
    }

    public async Task<JsonNode> Get(string path) => await Read(await http.GetAsync(path));
    public async Task<string> GetText(string path) => await (await Ensure(await http.GetAsync(path))).Content.ReadAsStringAsync();
    public async Task<JsonNode> Post(string path, object? body = null) => await Read(await http.PostAsJsonAsync(path, body ?? new { }));
    public async Task<JsonNode> Put(string path, object? body = null) => await Read(await http.PutAsJsonAsync(path, body ?? new { }));
    public async Task<HttpResponseMessage> PutRaw(string path, object? body = null) => await http.PutAsJsonAsync(path, body ?? new { });

    private static async Task<HttpResponseMessage> Ensure(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode) return response;
        var text = await response.Content.ReadAsStringAsync();
        throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
    }

    private static async Task<JsonNode> Read(HttpResponseMessage response) =>
        JsonNode.Parse(await (await Ensure(response)).Content.ReadAsStringAsync())!;
}
