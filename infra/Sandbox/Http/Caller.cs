using Sandbox.Model;

namespace Sandbox.Http;

public static class Caller
{
    /// <summary>The user behind <c>PRIVATE-TOKEN</c> or <c>Authorization: Bearer</c>, or GitLab's 401.</summary>
    public static User Authenticate(HttpContext context, SandboxStore store)
    {
        var token = context.Request.Headers["PRIVATE-TOKEN"].FirstOrDefault();
        if (string.IsNullOrEmpty(token)
            && context.Request.Headers.Authorization.FirstOrDefault() is { } auth
            && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            token = auth["Bearer ".Length..].Trim();
        return store.Authenticate(token) ?? throw GitLabError.Unauthorized();
    }
}
