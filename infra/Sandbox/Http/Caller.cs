using Sandbox.Model;

namespace Sandbox.Http;

public static class Caller
{
    /// <summary>
    /// The user behind <c>PRIVATE-TOKEN</c> or <c>Authorization: Bearer</c>, or GitLab's 401; with a <c>Sudo</c> header
    /// (or <c>?sudo=</c>), the user it names, by id or username, as GitLab's API helpers' <c>sudo!</c> allows it: only to
    /// an administrator ("403 Forbidden - Must be admin to use sudo"), only through a token with the <c>sudo</c> scope
    /// (403 <c>insufficient_scope</c>), and only for a user who exists (404).
    /// </summary>
    public static User Authenticate(HttpContext context, SandboxStore store)
    {
        var token = context.Request.Headers["PRIVATE-TOKEN"].FirstOrDefault();
        if (string.IsNullOrEmpty(token)
            && context.Request.Headers.Authorization.FirstOrDefault() is { } auth
            && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            token = auth["Bearer ".Length..].Trim();
        var pat = store.ActiveToken(token) ?? throw GitLabError.Unauthorized();
        var user = store.Users[pat.UserId];
        var sudo = context.Request.Headers["Sudo"].FirstOrDefault() ?? context.Request.Query["sudo"].FirstOrDefault();
        if (string.IsNullOrEmpty(sudo)) return user;
        if (!user.IsAdmin) throw GitLabError.Forbidden("Must be admin to use sudo");
        if (!pat.Scopes.Contains("sudo")) throw GitLabError.InsufficientScope("sudo");
        var sudoed = long.TryParse(sudo, out var id)
            ? store.Users.GetValueOrDefault(id)
            : store.Users.Values.FirstOrDefault(u => string.Equals(u.Username, sudo, StringComparison.OrdinalIgnoreCase));
        return sudoed ?? throw GitLabError.NotFound($"User with ID or username '{sudo}'");
    }
}
