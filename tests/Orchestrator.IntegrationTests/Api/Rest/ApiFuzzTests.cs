using System.Net.Http.Headers;
using System.Text;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;

namespace Orchestrator.IntegrationTests.Api.Rest;

/// <summary>
/// Every path and body parameter of the API, given what a careless or hostile client sends: no 5xx ever, every 4xx a
/// problem+json, and nothing recorded. The cases are fixed lists (no randomness), a few hundred calls in all; GitLab is the
/// sandbox, so an enqueue that passes the edge checks is still refused there (the merge request does not exist).
/// </summary>
public sealed class ApiFuzzTests(SchemaFixture db, SandboxFixture sandbox)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private const long UnknownIid = 4242;
    private SandboxApi api = null!;
    private Uri baseUrl = null!;
    private long project;

    public async Task InitializeAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        api = await SandboxApi.StartAsync(db, sandbox, suffix);
        // Kestrel on a real port, not the in-memory server: its own checks (path, body size) are part of what clients meet.
        var port = Ports.Free();
        api.Factory.UseKestrel(port);
        api.Factory.StartServer();
        baseUrl = new Uri($"http://127.0.0.1:{port}");
        project = await api.ProjectAsync("fuzz-" + suffix);
    }

    public async Task DisposeAsync() => await api.DisposeAsync();

    private static readonly string[] Ids =
    [
        "0", "-1", "-0", "00", "1.5", "9223372036854775808", "18446744073709551616", "1e300", "+1", " 1", "0x10", "null", "%00",
        "%C3%BCn%C3%AFc%C3%B6d%C3%A9", "%F0%9F%92%A5", "%D9%A1%D9%A2", "1%2F2", new string('9', 4000), "",
    ];

    private static readonly string[] Projects =
    [
        "0", "-1", "1.5", "9223372036854775808", "1e300", "%C3%BCn%C3%AFc%C3%B6d%C3%A9", "%C3%BC%2F%F0%9F%92%A5", "group%2Fnowhere",
        "%2F", "%00%2F%00", "a%2F" + new string('b', 1500), "a%2F" + new string('b', 3000), "",
    ];

    private static readonly string[] JsonValues =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e300", "-9223372036854775809", "\"\"", "\" \"", "\"ok\"", "\"a\\nb\"", "\"\\u0000\"",
        "\"\\ud800\"", "\"\\u202eevil\"", "\"@root\"", $"\"{new string('x', 201)}\"", $"\"{new string('x', 60_000)}\"", "[]", "[\"a\"]",
        "[null]", "{}", "{\"a\":{\"b\":[1]}}", new string('[', 200) + new string(']', 200),
    ];

    private static readonly string[] PolicyFields =
        ["images", "upstreamRepo", "requiredApprovals", "ciTimeoutMinutes", "maxRebases", "allowUnbumpedInputs", "triggerLabel", "allowedCommanders", "mergeOrder"];

    private static readonly string[] ImageFields = ["name", "tagFile", "tagKey", "inputs"];

    private static readonly byte[][] RawBodies =
    [
        [], "{"u8.ToArray(), "}"u8.ToArray(), "null"u8.ToArray(), "[]"u8.ToArray(), "[{}]"u8.ToArray(), "\"text\""u8.ToArray(), "1"u8.ToArray(),
        "true"u8.ToArray(), "{} {}"u8.ToArray(), " "u8.ToArray(), "{\"requestedBy\":\"a\",\"requestedBy\":\"b\"}"u8.ToArray(),
        [0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}'], [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'],
        [(byte)'"', 0xFF, 0xFE, (byte)'"'], Encoding.UTF8.GetBytes(new string(' ', 70_000) + "{}"),
    ];

    private static readonly string?[] ContentTypes =
        [null, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16", "application/merge-patch+json", "multipart/form-data"];

    private static readonly string[] QueryValues =
        ["", "abc", "1.5", "-1", "0", "99999999999", "2147483647", "1e3", "%00", "%C3%BC", "0x1", "%20"];

    private sealed record Case(string Token, string Method, string Path, byte[]? Body, string? ContentType, bool MustRefuse)
    {
        public override string ToString() =>
            $"{Method} {(Path.Length > 120 ? Path[..120] + "…" : Path)} [{ContentType}] " +
            (Body is null ? "" : Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 200)));
    }

    [Fact]
    public async Task Given_hostile_path_query_and_body_parameters_When_sent_Then_never_a_5xx_every_4xx_a_problem_and_nothing_recorded()
    {
        var failures = new List<string>();
        var count = 0;
        using var client = new HttpClient { BaseAddress = baseUrl };
        foreach (var c in Cases())
        {
            count++;
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", c.Token);
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(c.Body);
                if (c.ContentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(c.ContentType);
            }
            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            var media = response.Content.Headers.ContentType?.MediaType;
            if (status >= 500) failures.Add($"{status} for {c}: {await response.Content.ReadAsStringAsync()}");
            // Kestrel refuses a NUL in the path itself (a plain 400) before any middleware could answer a problem.
            else if (status >= 400 && media != "application/problem+json" && !(status == 400 && c.Path.Contains("%00")))
                failures.Add($"{status} as {media} for {c}");
            else if (c.MustRefuse && status < 400) failures.Add($"{status} (accepted) for {c}");
        }

        Assert.True(count > 400, $"only {count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} cases:\n" + string.Join("\n", failures));
        Assert.Equal(0, await db.CountEventsAsync());
    }

    private IEnumerable<Case> Cases()
    {
        const string merge = OrchestratorApiFactory.MergeToken, admin = OrchestratorApiFactory.AdminToken;
        var json = "application/json";
        string[] oneMr = ["merge", "", "events", "replay", "timeline"];

        // {iid}: every route of one merge request, each method it answers.
        foreach (var iid in Ids)
            foreach (var tail in oneMr)
                foreach (var method in tail == "merge" ? new[] { "POST", "DELETE" } : ["GET"])
                    yield return new(merge, method, $"/api/v1/projects/{project}/merge-requests/{iid}" + (tail == "" ? "" : "/" + tail), null, null,
                        MustRefuse: !(iid == "" && tail == ""));

        // {projectId}: enqueue, list, queue and policy.
        foreach (var p in Projects)
        {
            yield return new(merge, "POST", $"/api/v1/projects/{p}/merge-requests/1/merge", null, null, true);
            yield return new(merge, "GET", $"/api/v1/projects/{p}/merge-requests", null, null, false);
            yield return new(merge, "GET", $"/api/v1/projects/{p}/queues/main", null, null, false);
            yield return new(admin, "PUT", $"/api/v1/projects/{p}/policy", "{}"u8.ToArray(), json, true);
        }

        // Bodies: every JSON value in every field, whole bodies that are not a JSON object, other content types.
        var enqueue = $"/api/v1/projects/{project}/merge-requests/{UnknownIid}/merge";
        var policy = $"/api/v1/projects/{project}/policy";
        foreach (var value in JsonValues)
        {
            yield return new(merge, "POST", enqueue, Encoding.UTF8.GetBytes($"{{\"requestedBy\":{value}}}"), json, true);
            yield return new(merge, "POST", enqueue, Encoding.UTF8.GetBytes($"{{\"requestedBy\":\"ok\",\"extra\":{value}}}"), json, true);
            yield return new(merge, "DELETE", enqueue, Encoding.UTF8.GetBytes($"{{\"reason\":{value}}}"), json, false);
            foreach (var field in PolicyFields)
                yield return new(admin, "PUT", policy, Encoding.UTF8.GetBytes($"{{\"{field}\":{value}}}"), json, false);
            foreach (var field in ImageFields)
                yield return new(admin, "PUT", policy, Encoding.UTF8.GetBytes(
                    $"{{\"upstreamRepo\":\"g/p\",\"images\":[{{\"name\":\"n\",\"tagFile\":\"f\",\"tagKey\":\"k\",\"inputs\":[],\"{field}\":{value}}}]}}"), json, false);
        }
        foreach (var body in RawBodies)
        {
            yield return new(merge, "POST", enqueue, body, json, true);
            yield return new(merge, "DELETE", enqueue, body, json, false);
            yield return new(admin, "PUT", policy, body, json, body.Length > 0 && body[0] == (byte)'{' && body.Length < 10 && body[^1] == (byte)'}');
        }
        foreach (var type in ContentTypes)
        {
            yield return new(merge, "POST", enqueue, "{\"requestedBy\":\"ok\"}"u8.ToArray(), type, true);
            yield return new(admin, "PUT", policy, "{}"u8.ToArray(), type, false);
        }

        // The list's query string, and the queue's branch.
        foreach (var value in QueryValues)
            foreach (var name in new[] { "state", "page", "per_page" })
                yield return new(merge, "GET", $"/api/v1/projects/{project}/merge-requests?{name}={value}", null, null, false);
        yield return new(merge, "GET", $"/api/v1/projects/{project}/merge-requests?state=queued&state=failed&page=1&page=2", null, null, true);
        foreach (var branch in new[] { "%00", "%C3%BC", "a%2Fb", "%2F", new string('b', 4000), "%F0%9F%92%A5" })
            yield return new(merge, "GET", $"/api/v1/projects/{project}/queues/{branch}", null, null, false);
    }
}
