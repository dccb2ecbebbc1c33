using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Orchestrator.Api.Http;

/// <summary>
/// Reads an optional JSON body ourselves rather than through parameter binding, so a malformed or
/// mistyped body gets a problem+json that says what is wrong instead of a bare 400.
/// </summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadOptionalAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any()))
            return (null, null);
        if (!request.HasJsonContentType())
            return (null, Problems.Make(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type",
                "Unsupported media type", $"send application/json, not '{request.ContentType ?? "nothing"}'"));
        try
        {
            return (await JsonSerializer.DeserializeAsync<T>(request.Body, Options, ct), null);
        }
        catch (JsonException e)
        {
            // Where it went wrong, not what the server's types are called.
            var where = e.Path is { Length: > 0 } path ? $" at {path}" : "";
            return (null, Problems.BadRequest("Malformed JSON", $"the body is not the JSON this endpoint takes{where}"));
        }
    }
}
