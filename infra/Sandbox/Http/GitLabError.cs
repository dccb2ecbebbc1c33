using System.Text.Json.Nodes;

namespace Sandbox.Http;

/// <summary>An answer in GitLab's words: the status and the body GitLab sends for it.</summary>
public sealed class GitLabError(int status, JsonObject body) : Exception(body.ToJsonString())
{
    public int Status { get; } = status;
    public JsonObject Body { get; } = body;

    public static GitLabError WithMessage(int status, string message) => new(status, new JsonObject { ["message"] = message });

    public static GitLabError Unauthorized() => WithMessage(401, "401 Unauthorized");
    public static GitLabError Forbidden() => WithMessage(403, "403 Forbidden");
    /// <summary>Grape's <c>forbidden!(reason)</c>.</summary>
    public static GitLabError Forbidden(string reason) => WithMessage(403, $"403 Forbidden - {reason}");
    public static GitLabError NotFound(string what) => WithMessage(404, $"404 {what} Not Found");
    /// <summary>What GitLab's API answers when a <c>find_by!</c> finds no row (ActiveRecord::RecordNotFound).</summary>
    public static GitLabError RecordNotFound() => WithMessage(404, "404 Not found");
    public static GitLabError MethodNotAllowed() => WithMessage(405, "405 Method Not Allowed");
    public static GitLabError Conflict(string message) => WithMessage(409, message);
    public static GitLabError Unprocessable(string message) => WithMessage(422, message);
    public static GitLabError BadRequest(string message) => WithMessage(400, message);

    /// <summary>A token without a scope the request needs (GitLab's APIGuard, through Rack::OAuth2's Bearer::Forbidden).</summary>
    public static GitLabError InsufficientScope(string scope) => new(403, new JsonObject
    {
        ["error"] = "insufficient_scope",
        ["error_description"] = "The request requires higher privileges than provided by the access token.",
        ["scope"] = scope,
    });

    /// <summary>Grape's parameter validation answers with <c>error</c>, not <c>message</c>.</summary>
    public static GitLabError Missing(string param) => new(400, new JsonObject { ["error"] = $"{param} is missing" });
    public static GitLabError Invalid(string param) => new(400, new JsonObject { ["error"] = $"{param} is invalid" });
}
