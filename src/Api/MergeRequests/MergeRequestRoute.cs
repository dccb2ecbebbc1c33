using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Api.Http;
using Orchestrator.Api.Security;
using Orchestrator.Domain;

namespace Orchestrator.Api.MergeRequests;

/// <summary>
/// The one place <c>{iid}</c> is checked: a positive 64-bit number, or a 400 problem. It runs after <see cref="ApiAccess"/>
/// (so the project is resolved and allowed), and before the handler, so an id that cannot name a merge request never
/// activates a grain.
/// </summary>
public sealed class MergeRequestRoute : IEndpointFilter
{
    private const string KeyItem = "orchestrator.merge-request";
    private const int EchoedLength = 40;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var raw = http.Request.RouteValues.TryGetValue("iid", out var value) ? value as string ?? "" : "";
        if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var iid) || iid <= 0)
            return Problems.BadRequest("Invalid merge request",
                $"merge request '{(raw.Length > EchoedLength ? raw[..EchoedLength] + "…" : raw)}' must be a positive number (its iid)");
        http.Items[KeyItem] = new MergeRequestKey(http.Project(), iid);
        return await next(context);
    }

    public static MergeRequestKey Of(HttpContext http) => (MergeRequestKey)http.Items[KeyItem]!;
}

public static class MergeRequestRouteExtensions
{
    /// <summary>Add after <c>RequireScope</c>: filters run in the order they are added.</summary>
    public static TBuilder RequireMergeRequest<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new MergeRequestRoute());

    public static MergeRequestKey MergeRequest(this HttpContext http) => MergeRequestRoute.Of(http);
}
