using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sandbox.Http;

/// <summary>
/// GitLab (Grape) takes parameters from the query string, a form body or a JSON body alike, and real
/// clients use all three; this merges them (body over query) and converts on access.
/// </summary>
public sealed class RequestParams
{
    private readonly JsonObject values;

    private RequestParams(JsonObject values) => this.values = values;

    public static async Task<RequestParams> ReadAsync(HttpRequest request)
    {
        var values = new JsonObject();
        foreach (var (key, value) in request.Query) Add(values, key, value);
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            foreach (var (key, value) in form) Add(values, key, value);
        }
        else if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            JsonNode? body;
            try
            {
                body = await JsonNode.ParseAsync(request.Body);
            }
            catch (JsonException)
            {
                // Grape's answer to a body it cannot parse.
                throw GitLabError.BadRequest("400 Bad request - The provided content-type 'application/json' is not supported or the body is not valid JSON.");
            }
            if (body is JsonObject obj)
                foreach (var (key, value) in obj.ToList())
                {
                    obj.Remove(key);
                    values[key.EndsWith("[]") ? key[..^2] : key] = value;
                }
        }
        return new RequestParams(values);
    }

    private static void Add(JsonObject values, string key, Microsoft.Extensions.Primitives.StringValues value)
    {
        if (key.EndsWith("[]"))
            values[key[..^2]] = new JsonArray([.. value.Select(v => (JsonNode?)JsonValue.Create(v))]);
        else
            values[key] = value.Count == 0 ? null : JsonValue.Create(value[^1]);
    }

    public bool Has(string key) => values.ContainsKey(key) && values[key] is not null;

    public string? String(string key) => values[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => throw GitLabError.Invalid(key),
    };

    public string RequiredString(string key) =>
        String(key) is { Length: > 0 } s ? s : throw GitLabError.Missing(key);

    public long? Long(string key) => values[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var n) => n,
        JsonValue v when v.TryGetValue<string>(out var s) && s.Length == 0 => null,
        JsonValue v when v.TryGetValue<string>(out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
        _ => throw GitLabError.Invalid(key),
    };

    public long RequiredLong(string key) => Long(key) ?? throw GitLabError.Missing(key);

    public bool? Bool(string key) => values[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) => s.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "t" => true,
            "false" or "0" or "no" or "f" or "" => false,
            _ => throw GitLabError.Invalid(key),
        },
        JsonValue v when v.TryGetValue<long>(out var n) => n != 0,
        _ => throw GitLabError.Invalid(key),
    };

    /// <summary>A list given as an array or as a comma-separated string (GitLab's labels).</summary>
    public IReadOnlyList<string>? List(string key) => values[key] switch
    {
        null => null,
        JsonArray a => [.. a.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "")
            .SelectMany(s => s.Split(',')).Select(s => s.Trim()).Where(s => s.Length > 0)],
        JsonValue v when v.TryGetValue<string>(out var s) => [.. s.Split(',').Select(x => x.Trim()).Where(x => x.Length > 0)],
        JsonValue v => [v.ToJsonString()],
        _ => throw GitLabError.Invalid(key),
    };

    public IReadOnlyList<long>? Longs(string key) => List(key)?.Select(s =>
        long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw GitLabError.Invalid(key)).ToList();

    public JsonArray? Array(string key) => values[key] switch
    {
        null => null,
        JsonArray a => a,
        _ => throw GitLabError.Invalid(key),
    };
}
