using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

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
                await TooLarge(maxBytes).ExecuteAsync(context);
                return;
            }
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = maxBytes;
            await next(context);
        });

    /// <summary>
    /// The whole body, or null once it passes <paramref name="maxBytes"/>: the same limit again, for hosts (tests, a
    /// server without the size feature) where the middleware could not cap a chunked body. A body of declared length
    /// (as GitLab sends it) is read straight into an array of that size; a chunked one through a pooled buffer.
    /// </summary>
    public static async Task<byte[]?> ReadAllAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength is { } declared)
        {
            if (declared > maxBytes) return null;
            // The server ends the body at its declared length and fails a read that comes short of it.
            var body = new byte[declared];
            var filled = 0;
            while (filled < body.Length && await request.Body.ReadAsync(body.AsMemory(filled), ct) is var read and > 0) filled += read;
            return filled == body.Length ? body : body[..filled];
        }
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes) return null;
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    public static ProblemHttpResult TooLarge(long maxBytes) =>
        Problems.Make(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "Payload too large", $"the body may be at most {maxBytes} bytes");
}
