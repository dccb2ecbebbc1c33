using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Api.Http;

namespace Orchestrator.Api.Security;

/// <summary>
/// The API's door: 401 without a valid bearer token, 404 for a project that does not resolve (503 when GitLab cannot
/// be asked), 403 outside the token's scope or projects. Runs before the handler, so a refused call has touched nothing.
/// </summary>
public sealed class ApiAccess(string scope) : IEndpointFilter
{
    public const string ProjectItem = "orchestrator.project";
    public const string CallerItem = "orchestrator.caller";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = http.RequestServices.GetRequiredService<ApiTokens>().Authenticate(http.Request.Headers.Authorization.FirstOrDefault());
        if (caller is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Make(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", "send a valid bearer token");
        }
        http.Items[CallerItem] = caller;
        if (http.Request.RouteValues.TryGetValue("projectId", out var raw) && raw is string projectId)
        {
            var (project, unavailable) = await http.RequestServices.GetRequiredService<ProjectResolver>().ResolveAsync(http, projectId);
            if (unavailable is not null) return unavailable;
            if (project is null) return Problems.NotFound($"unknown project '{Uri.UnescapeDataString(projectId)}'");
            if (!caller.Reaches(project.Value)) return Problems.Make(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", $"token '{caller.Name}' may not touch project {project}");
            http.Items[ProjectItem] = project.Value;
        }
        if (!caller.Allows(scope)) return Problems.Make(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", $"token '{caller.Name}' lacks the '{scope}' scope");
        return await next(context);
    }
}

public static class ApiAccessExtensions
{
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new ApiAccess(scope));

    public static long Project(this HttpContext context) => (long)context.Items[ApiAccess.ProjectItem]!;

    public static ApiCaller Caller(this HttpContext context) => (ApiCaller)context.Items[ApiAccess.CallerItem]!;
}
