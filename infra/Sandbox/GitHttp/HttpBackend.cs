using System.Diagnostics;
using System.Text;

namespace Sandbox.GitHttp;

/// <summary>
/// <c>git http-backend</c> as a CGI, as GitLab Workhorse hands smart HTTP to Gitaly: the request body streamed to
/// its input, its CGI headers turned into the response's, the rest streamed back.
/// </summary>
public static class HttpBackend
{
    /// <param name="repoPath">The bare repository.</param>
    /// <param name="pathInfo">What follows the repository in the URL: <c>/info/refs</c>, <c>/git-upload-pack</c>, <c>/git-receive-pack</c>.</param>
    /// <param name="env">Extra environment (the hook's callback, the pushing user's name).</param>
    public static async Task RunAsync(HttpContext context, string repoPath, string pathInfo, string hooksPath,
        IReadOnlyDictionary<string, string> env, ILogger logger)
    {
        var request = context.Request;
        var psi = new ProcessStartInfo("git", ["http-backend"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // Only what a CGI needs: never the request's headers as such, so the Authorization header stays here.
        psi.Environment.Clear();
        psi.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        psi.Environment["HOME"] = Path.GetTempPath();
        psi.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        psi.Environment["GIT_PROJECT_ROOT"] = Path.GetDirectoryName(repoPath)!;
        psi.Environment["PATH_INFO"] = "/" + Path.GetFileName(repoPath) + pathInfo;
        psi.Environment["GIT_HTTP_EXPORT_ALL"] = "1";
        psi.Environment["REQUEST_METHOD"] = request.Method;
        psi.Environment["QUERY_STRING"] = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        psi.Environment["CONTENT_TYPE"] = request.ContentType ?? "";
        if (request.ContentLength is { } length) psi.Environment["CONTENT_LENGTH"] = length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["REMOTE_ADDR"] = context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";
        if (request.Headers.ContentEncoding.FirstOrDefault() is { } encoding) psi.Environment["HTTP_CONTENT_ENCODING"] = encoding;
        if (request.Headers["Git-Protocol"].FirstOrDefault() is { } protocol) psi.Environment["HTTP_GIT_PROTOCOL"] = protocol;
        // Gitaly's receive-pack configuration: push options advertised, its hooks and no repository's own, and the
        // refs GitLab owns (merge requests', pipelines', environments', keep-around) kept out of reach of pushes, as Gitaly
        // configures receive-pack. Its upload-pack serves any object by SHA
        // (uploadpack.allowAnySHA1InWant, set by Gitaly for partial clones): a commit replaced by a force push stays fetchable.
        var config = new[]
        {
            ("http.receivepack", "true"), ("receive.advertisePushOptions", "true"), ("core.hooksPath", hooksPath),
            ("receive.hideRefs", "refs/environments/"), ("receive.hideRefs", "refs/keep-around/"), ("receive.hideRefs", "refs/merge-requests/"),
            ("receive.hideRefs", "refs/pipelines/"), ("uploadpack.allowAnySHA1InWant", "true"),
        };
        psi.Environment["GIT_CONFIG_COUNT"] = config.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < config.Length; i++)
        {
            psi.Environment[$"GIT_CONFIG_KEY_{i}"] = config[i].Item1;
            psi.Environment[$"GIT_CONFIG_VALUE_{i}"] = config[i].Item2;
        }
        foreach (var (k, v) in env) psi.Environment[k] = v;

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("git http-backend did not start");
        var aborted = context.RequestAborted;
        var feed = Task.Run(async () =>
        {
            try
            {
                await request.Body.CopyToAsync(process.StandardInput.BaseStream, aborted);
            }
            finally
            {
                process.StandardInput.Close();
            }
        }, aborted);
        var errors = process.StandardError.ReadToEndAsync(aborted);
        var output = process.StandardOutput.BaseStream;
        await WriteHeadersAsync(context.Response, output, aborted);
        await context.Response.StartAsync(aborted);
        await output.CopyToAsync(context.Response.Body, aborted);
        await process.WaitForExitAsync(aborted);
        await feed;
        if (await errors is { Length: > 0 } stderr) logger.LogDebug("git http-backend: {Stderr}", stderr.Trim());
    }

    /// <summary>Reads the CGI header block (up to the blank line) byte by byte, so the body behind it stays unread.</summary>
    private static async Task WriteHeadersAsync(HttpResponse response, Stream output, CancellationToken ct)
    {
        response.StatusCode = 200;
        var line = new List<byte>();
        var one = new byte[1];
        while (await output.ReadAsync(one, ct) == 1)
        {
            if (one[0] != '\n')
            {
                line.Add(one[0]);
                continue;
            }
            var text = Encoding.ASCII.GetString([.. line]).TrimEnd('\r');
            line.Clear();
            if (text.Length == 0) return;
            var colon = text.IndexOf(':');
            if (colon <= 0) continue;
            var (name, value) = (text[..colon].Trim(), text[(colon + 1)..].Trim());
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
                response.StatusCode = int.Parse(value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            else
                response.Headers.Append(name, value);
        }
    }
}
