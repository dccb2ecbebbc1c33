using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Orchestrator.Api.Http;

public static class BodyLimit
{
    /// <summary>
    /// Refuses a declared oversized body up front with a problem, before any handler reads it; a chunked
    /// body that grows too large is cut off by the server's own limit (set here too), which the error
    /// handler turns into the same 413.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app, long maxBytes) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.ContentLength > maxBytes)
            {
                await Problems.Make(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "Payload too large",
                    $"the body may be at most {maxBytes} bytes").ExecuteAsync(context);
                return;
            }
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = maxBytes;
            await next(context);
        });
}
