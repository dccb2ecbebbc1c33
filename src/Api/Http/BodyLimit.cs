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
    /// (as GitLab sends it) is read straight into a pooled array of at least that size, which goes back to the pool when
    /// the body is disposed (a new array per delivery was a fifth of the intake's allocations); a chunked one through a
    /// pooled buffer into an array of its own.
    /// </summary>
    public static async Task<RequestBody?> ReadAllAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength is { } declared)
        {
            if (declared > maxBytes) return null;
            var body = new RequestBody(ArrayPool<byte>.Shared.Rent((int)declared), pooled: true);
            try
            {
                // The server ends the body at its declared length and fails a read that comes short of it.
                var filled = 0;
                while (filled < declared && await request.Body.ReadAsync(body.Array.AsMemory(filled, (int)declared - filled), ct) is var read and > 0)
                    filled += read;
                body.Length = filled;
                return body;
            }
            catch
            {
                body.Dispose();
                throw;
            }
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
        var whole = buffer.ToArray();
        return new RequestBody(whole, pooled: false) { Length = whole.Length };
    }

    public static ProblemHttpResult TooLarge(long maxBytes) =>
        Problems.Make(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "Payload too large", $"the body may be at most {maxBytes} bytes");
}

/// <summary>A request body read whole: <see cref="Memory"/> is valid until it is disposed, when a pooled array goes back.</summary>
public sealed class RequestBody(byte[] array, bool pooled) : IDisposable
{
    private byte[]? rented = pooled ? array : null;

    internal byte[] Array { get; } = array;

    public int Length { get; internal set; }

    public ReadOnlyMemory<byte> Memory => Array.AsMemory(0, Length);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref rented, null) is { } back) ArrayPool<byte>.Shared.Return(back);
    }
}
