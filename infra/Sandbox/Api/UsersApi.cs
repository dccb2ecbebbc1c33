using System.Text.Json.Nodes;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

public static class UsersApi
{
    public static void MapUsersApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("GET", "/user", r => GitLabEndpoint.Json(r.Service<Views>().User(r.User, withPrivate: true)));

        app.MapGitLab("GET", "/users", r =>
        {
            var username = r.Params.String("username");
            var users = r.Store.Users.Values.Where(u => username is null || string.Equals(u.Username, username, StringComparison.OrdinalIgnoreCase));
            return GitLabEndpoint.List(r, [.. users.Select(u => (JsonNode)r.Service<Views>().User(u, r.User.IsAdmin))]);
        });

        app.MapGitLab("GET", "/users/{userId}", r =>
            GitLabEndpoint.Json(r.Service<Views>().User(r.Store.UserById(r.RouteLong("userId", "User")), r.User.IsAdmin)));

        app.MapGitLab("POST", "/users", r =>
        {
            r.RequireAdmin();
            var email = r.Params.RequiredString("email");
            var username = r.Params.RequiredString("username");
            var name = r.Params.RequiredString("name");
            if (r.Store.Users.Values.Any(u => string.Equals(u.Username, username, StringComparison.OrdinalIgnoreCase)))
                throw GitLabError.Conflict("Username has already been taken");
            if (r.Store.Users.Values.Any(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase)))
                throw GitLabError.Conflict("Email has already been taken");
            var user = r.Store.AddUser(username, name, email, r.Params.Bool("admin") ?? false);
            return GitLabEndpoint.Json(r.Service<Views>().User(user, withPrivate: true), 201);
        });

        app.MapGitLab("POST", "/users/{userId}/personal_access_tokens", r =>
        {
            r.RequireAdmin();
            var user = r.Store.UserById(r.RouteLong("userId", "User"));
            var name = r.Params.RequiredString("name");
            var scopes = r.Params.List("scopes") ?? throw GitLabError.Missing("scopes");
            if (scopes.Count == 0) throw GitLabError.Missing("scopes");
            DateOnly? expires = r.Params.String("expires_at") is { Length: > 0 } e
                ? DateOnly.TryParse(e, out var d) ? d : throw GitLabError.Invalid("expires_at")
                : null;
            var token = r.Store.AddToken(user.Id, name, scopes, expiresAt: expires);
            return GitLabEndpoint.Json(r.Service<Views>().Token(token, withValue: true), 201);
        });

        app.MapGitLab("POST", "/groups", r =>
        {
            var name = r.Params.RequiredString("name");
            var path = r.Params.RequiredString("path");
            if (r.Store.Groups.Values.Any(g => g.Path == path) || r.Store.Users.Values.Any(u => u.Username == path))
                throw GitLabError.BadRequest("Failed to save group {:path=>[\"has already been taken\"]}");
            var group = new Group { Id = r.Store.NewId(), Name = name, Path = path, CreatedAt = r.Store.Now };
            group.Members[r.User.Id] = AccessLevel.Owner;
            r.Store.Groups[group.Id] = group;
            return GitLabEndpoint.Json(r.Service<Views>().Group(group), 201);
        });

        app.MapGitLab("POST", "/groups/{groupId}/members", r =>
        {
            var group = r.Store.Groups.GetValueOrDefault(r.RouteLong("groupId", "Group")) ?? throw GitLabError.NotFound("Group");
            if (!r.User.IsAdmin && group.Members.GetValueOrDefault(r.User.Id) < AccessLevel.Maintainer) throw GitLabError.Forbidden();
            var user = r.Store.UserById(r.Params.RequiredLong("user_id"));
            var level = (int)r.Params.RequiredLong("access_level");
            if (group.Members.ContainsKey(user.Id)) throw GitLabError.Conflict("Member already exists");
            group.Members[user.Id] = level;
            var origin = group.MemberOrigins[user.Id] = new MemberOrigin(r.Store.Now, r.User.Id);
            return GitLabEndpoint.Json(r.Service<Views>().Member(user, level, origin, r.User), 201);
        });
    }
}
