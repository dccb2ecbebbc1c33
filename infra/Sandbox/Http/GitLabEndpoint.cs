using System.Text.Json.Nodes;
using Sandbox.Model;

namespace Sandbox.Http;

/// <summary>One authenticated API call, under the lock of the project it names (see <see cref="GitLabEndpoint.MapGitLab(IEndpointRouteBuilder, string, string, Func{GitLabRequest, Task{IResult}})"/>), with its merged parameters.</summary>
public sealed class GitLabRequest(HttpContext context, SandboxStore store, User user, RequestParams parameters)
{
    public HttpContext Context { get; } = context;
    public SandboxStore Store { get; } = store;
    public User User { get; } = user;
    public RequestParams Params { get; } = parameters;

    public string Route(string name) => Uri.UnescapeDataString(Context.Request.RouteValues[name]?.ToString() ?? "");

    public long RouteLong(string name, string what) =>
        long.TryParse(Route(name), out var v) ? v : throw GitLabError.NotFound(what);

    public Project Project() => Store.FindProject(Route("id"), User);

    public void RequireAdmin()
    {
        if (!User.IsAdmin) throw GitLabError.Forbidden();
    }

    public void RequireAccess(Project project, int level)
    {
        if (Store.AccessLevelOf(project, User) < level) throw GitLabError.Forbidden();
    }

    public T Service<T>() where T : notnull => Context.RequestServices.GetRequiredService<T>();
}

public static class GitLabEndpoint
{
    // GitLab (Rails) escapes nothing beyond what JSON requires; neither do we.
    private static readonly System.Text.Json.JsonSerializerOptions Output = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // Exactly "application/json", no charset: GitLab sends that, and python-gitlab compares the header verbatim.
    public static IResult Json(JsonNode node, int status = 200) => new JsonAnswer(node.ToJsonString(Output), status);

    private sealed class JsonAnswer(string json, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(json);
        }
    }

    public static IResult List(GitLabRequest r, IReadOnlyList<JsonNode> all) =>
        Json(new JsonArray([.. Paging.Page(r.Context, r.Params, all).Select(n => n.DeepClone())]));

    public static RouteHandlerBuilder MapGitLab(this IEndpointRouteBuilder app, string method, string pattern,
        Func<GitLabRequest, Task<IResult>> handler) =>
        app.MapMethods("/api/v4" + pattern, [method], async (HttpContext context, SandboxStore store) =>
        {
            var user = Caller.Authenticate(context, store);
            var parameters = await RequestParams.ReadAsync(context.Request);
            await using var held = await LockAsync(context, store, method);
            return await handler(new GitLabRequest(context, store, user, parameters));
        });

    /// <summary>
    /// What a call holds while it runs: the lock of the project its route names (<c>:id</c>), so it waits only for that
    /// project's fork network; the registry lock for a creation outside any project (users, tokens, groups, projects);
    /// nothing for the other reads, which see the concurrent registries as they are. A route naming no existing project
    /// takes no lock: the handler answers 404.
    /// </summary>
    private static async Task<IAsyncDisposable?> LockAsync(HttpContext context, SandboxStore store, string method)
    {
        if (context.Request.RouteValues.TryGetValue("id", out var id) && id?.ToString() is { } key)
            return store.ProjectByIdOrPath(key) is { } project ? await store.LockAsync(project) : null;
        return method == "GET" ? null : await store.EnterRegistryAsync();
    }

    public static RouteHandlerBuilder MapGitLab(this IEndpointRouteBuilder app, string method, string pattern,
        Func<GitLabRequest, IResult> handler) =>
        app.MapGitLab(method, pattern, r => Task.FromResult(handler(r)));

    /// <summary>GitLab's error bodies for everything: our own errors, unknown routes, wrong methods, crashes (never a bare 500 page).</summary>
    public static IApplicationBuilder UseGitLabErrors(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
            if (context.Response is { HasStarted: false, StatusCode: 404 or 405 } response && response.ContentLength is null)
            {
                var body = response.StatusCode == 404
                    ? new JsonObject { ["error"] = "404 Not Found" }
                    : new JsonObject { ["message"] = "405 Method Not Allowed" };
                await Json(body, response.StatusCode).ExecuteAsync(context);
            }
        }
        catch (GitLabError e) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            await Json(e.Body, e.Status).ExecuteAsync(context);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            await Json(new JsonObject { ["error"] = e.Message }, e.StatusCode).ExecuteAsync(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Sandbox").LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            context.Response.Clear();
            await Json(new JsonObject { ["message"] = "500 Internal Server Error" }, 500).ExecuteAsync(context);
        }
    });
}
