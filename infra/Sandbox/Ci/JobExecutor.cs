using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;
using Sandbox.Registry;

namespace Sandbox.Ci;

/// <summary>
/// Runs one job: a checkout of the pipeline's commit, the job's <c>image:</c> pulled from the registry and
/// unpacked (its root in <c>$CI_IMAGE_ROOT</c>, its <c>bin/</c> first on <c>PATH</c>), GitLab's predefined
/// variables, and the script under bash — or the ci-templates container job for jobs extending it.
/// </summary>
public sealed partial class JobExecutor(SandboxStore store, RegistryProcess registry, IOptions<SandboxOptions> options,
    IHttpClientFactory httpFactory, ILogger<JobExecutor> logger)
{
    /// <summary><c>CI_JOB_TOKEN</c> → job, while the job runs; <c>/jwt/auth</c> accepts them as <c>gitlab-ci-token</c>.</summary>
    public ConcurrentDictionary<string, Job> JobTokens { get; } = new();

    public async Task<bool> RunAsync(Job job, PipelineSpec spec, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory($"sandbox-job-{job.Id}-").FullName;
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20)).ToLowerInvariant();
        JobTokens[token] = job;
        try
        {
            var project = store.ProjectById(job.Pipeline.ProjectId);
            Dictionary<string, string> env;
            // The variables read the project's and its merge request's state (protected branches, labels): under its lock.
            await using (await store.LockAsync(project))
                env = Environment(job, spec, project, store.UserById(job.UserId), token, Path.Combine(work, "src"));
            RunnerLog.Println(job, "Running with gitlab-runner (gitlab-sandbox emulation)");
            RunnerLog.Println(job, "  on gitlab-sandbox-runner");
            var client = JobRegistryClient(token);
            string? imageName = null;
            PulledImage? image = null;
            RunnerLog.SectionStart(job, "prepare_executor", $"Preparing the \"{(job.Spec.Image is null ? "shell" : "docker")}\" executor");
            try
            {
                if (job.Spec.Image is { } named)
                {
                    // The runner expands variables in image: before it pulls, and names the image so in its log.
                    imageName = Expand(named, env);
                    RunnerLog.Println(job, $"Using Docker executor with image {imageName} ...");
                    RunnerLog.Println(job, $"Pulling docker image {imageName} ...");
                    var root = Path.Combine(work, "image");
                    var pull = await PullAsync(client, imageName, root);
                    if (pull.Image is null)
                    {
                        RunnerLog.Failed(job, pull.Error!);
                        return false;
                    }
                    image = pull.Image;
                    RunnerLog.UsingImage(job, imageName, image);
                    env["CI_IMAGE_ROOT"] = root;
                    env["PATH"] = $"{root}/bin:{env["PATH"]}";
                }
                else RunnerLog.Println(job, "Using Shell (bash) executor...");
            }
            finally
            {
                RunnerLog.SectionEnd(job, "prepare_executor");
            }
            RunnerLog.SectionStart(job, "prepare_script", "Preparing environment");
            RunnerLog.Println(job, $"Running on {System.Environment.MachineName} via gitlab-sandbox-runner...");
            RunnerLog.SectionEnd(job, "prepare_script");
            RunnerLog.SectionStart(job, "get_sources", "Getting source from Git repository");
            try
            {
                await CheckoutAsync(project, job.Pipeline.Sha, Path.Combine(work, "src"));
                RunnerLog.Println(job, $"Checking out {job.Pipeline.Sha[..8]} as detached HEAD (ref is {job.Pipeline.Ref})...");
            }
            finally
            {
                RunnerLog.SectionEnd(job, "get_sources");
            }
            bool ok;
            RunnerLog.SectionStart(job, "step_script", "Executing \"step_script\" stage of the job script");
            try
            {
                // The docker executor obtains the image again for the build container and says so inside the section.
                if (image is not null) RunnerLog.UsingImage(job, imageName!, image);
                ok = job.Spec.Builtin == "fdo-container-build"
                    ? await new ContainerBuild(job, env, client, options.Value.Ci, work, registry.Host).RunAsync(ct)
                    : await RunScriptAsync(job, job.Spec.Script, env, Path.Combine(work, "src"), ct);
                if (options.Value.Ci.JobDelay > TimeSpan.Zero) await Task.Delay(options.Value.Ci.JobDelay, ct);
            }
            finally
            {
                RunnerLog.SectionEnd(job, "step_script");
            }
            RunnerLog.SectionStart(job, "cleanup_file_variables", "Cleaning up project directory and file based variables");
            RunnerLog.SectionEnd(job, "cleanup_file_variables");
            if (ok) RunnerLog.Succeeded(job);
            else RunnerLog.Failed(job, "exit code 1");
            return ok;
        }
        catch (OperationCanceledException)
        {
            RunnerLog.Failed(job, "canceled");
            return false;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "job {Job} failed", job.Id);
            job.Write($"\u001b[31;1mERROR: Job failed (system failure): {e.Message}{RunnerLog.Reset}\n");
            return false;
        }
        finally
        {
            JobTokens.TryRemove(token, out _);
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private Dictionary<string, string> Environment(Job job, PipelineSpec spec, Project project, User user, string token, string dir)
    {
        var p = job.Pipeline;
        var registryImage = $"{registry.Host}/{project.FullPath.ToLowerInvariant()}";
        var env = new Dictionary<string, string>
        {
            ["PATH"] = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            ["HOME"] = dir,
            ["CI"] = "true",
            ["GITLAB_CI"] = "true",
            ["CI_SERVER_URL"] = store.ExternalUrl,
            ["CI_API_V4_URL"] = $"{store.ExternalUrl.TrimEnd('/')}/api/v4",
            ["CI_PROJECT_ID"] = project.Id.ToString(),
            ["CI_PROJECT_PATH"] = project.FullPath,
            ["CI_PROJECT_NAME"] = project.Path,
            ["CI_PROJECT_NAMESPACE"] = project.NamespacePath,
            ["CI_PROJECT_DIR"] = dir,
            ["CI_DEFAULT_BRANCH"] = project.DefaultBranch,
            ["CI_COMMIT_SHA"] = p.Sha,
            ["CI_COMMIT_SHORT_SHA"] = p.Sha[..8],
            ["CI_COMMIT_BEFORE_SHA"] = p.BeforeSha,
            ["CI_COMMIT_REF_NAME"] = p.Ref,
            ["CI_COMMIT_REF_SLUG"] = Slug(p.Ref),
            ["CI_PIPELINE_ID"] = p.Id.ToString(),
            ["CI_PIPELINE_IID"] = p.Iid.ToString(),
            ["CI_PIPELINE_SOURCE"] = p.Source,
            ["CI_JOB_ID"] = job.Id.ToString(),
            ["CI_JOB_NAME"] = job.Name,
            ["CI_JOB_STAGE"] = job.Stage,
            ["CI_JOB_TOKEN"] = token,
            // GitLab's own form, the job token in the URL: the runner clones with it, and so may the script.
            ["CI_REPOSITORY_URL"] = new UriBuilder(store.WebUrl($"{project.FullPath}.git")) { UserName = GitClientAuth.JobTokenUser, Password = token }.Uri.ToString(),
            ["CI_REGISTRY"] = registry.Host,
            ["CI_REGISTRY_IMAGE"] = registryImage,
            ["CI_REGISTRY_USER"] = "gitlab-ci-token",
            ["CI_REGISTRY_PASSWORD"] = token,
            ["GITLAB_USER_LOGIN"] = user.Username,
            ["GITLAB_USER_ID"] = user.Id.ToString(),
            ["GITLAB_USER_EMAIL"] = user.Email,
        };
        if (p.MergeRequest is { } mr)
        {
            foreach (var (k, v) in MergeRequestVariables.Of(store, p, mr)) env[k] = v;
            env["CI_COMMIT_REF_SLUG"] = Slug(mr.SourceBranch);
        }
        else if (!p.Ref.StartsWith("refs/")) env["CI_COMMIT_BRANCH"] = p.Ref;
        // Precedence as GitLab's: predefined < .gitlab-ci.yml globals < job variables < pipeline (API/trigger) variables.
        foreach (var (k, v) in spec.Variables) env[k] = v;
        foreach (var (k, v) in job.Spec.Variables) env[k] = v;
        foreach (var (k, v) in p.Variables) env[k] = v;
        foreach (var key in env.Keys.ToList()) env[key] = Expand(env[key], env);
        return env;
    }

    [GeneratedRegex(@"\$\{(\w+)\}|\$(\w+)")]
    private static partial Regex VariableReference();

    public static string Expand(string text, IReadOnlyDictionary<string, string> env) =>
        VariableReference().Replace(text, m => env.TryGetValue(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value, out var v) ? v : "");

    private static string Slug(string name) => Regex.Replace(name.ToLowerInvariant(), "[^a-z0-9]", "-").Trim('-');

    private static async Task CheckoutAsync(Project project, string sha, string dir)
    {
        Directory.CreateDirectory(dir);
        var result = await GitCli.TryRunAsync(null, ["-c", "safe.directory=*", "--git-dir", project.RepoPath, "archive", "--format=tar", "-o", dir + ".tar", sha]);
        if (result.ExitCode != 0) throw new InvalidOperationException($"checkout of {sha} failed: {result.Stderr}");
        await Shell.RunAsync("tar", ["-xf", dir + ".tar", "-C", dir]);
        File.Delete(dir + ".tar");
    }

    private RegistryClient JobRegistryClient(string jobToken) =>
        new(httpFactory.CreateClient("registry"), registry.BaseUrl, async scopes =>
        {
            var query = string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)).Prepend($"service={TokenIssuer.Service}"));
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{store.ExternalUrl.TrimEnd('/')}/jwt/auth?{query}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"gitlab-ci-token:{jobToken}")));
            using var response = await httpFactory.CreateClient("registry").SendAsync(request);
            if (!response.IsSuccessStatusCode) return null;
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())?["token"]?.GetValue<string>();
        });

    /// <summary>
    /// Pulls <c>host:port/name:tag</c> (or <c>@digest</c>) from the sandbox registry and unpacks its layers in order.
    /// The image's ID is its config digest and its repository digest the manifest's, as docker reports them.
    /// </summary>
    public static async Task<(PulledImage? Image, string? Error)> PullAsync(RegistryClient client, string reference, string root)
    {
        var (name, tag) = ImageReference.Split(reference, out var host);
        if (host is null) return (null, $"image {reference} is not in the sandbox registry (no network here)");
        var manifest = await client.GetManifestAsync(name, tag);
        if (manifest is null) return (null, $"failed to pull image \"{reference}\": manifest unknown");
        Directory.CreateDirectory(root);
        var json = manifest.Json;
        foreach (var layer in json["layers"]!.AsArray())
        {
            var digest = layer!["digest"]!.GetValue<string>();
            var file = Path.Combine(Path.GetDirectoryName(root)!, digest.Replace(':', '_') + ".tar.gz");
            await File.WriteAllBytesAsync(file, await client.GetBlobAsync(name, digest));
            await Shell.RunAsync("tar", ["-xzf", file, "-C", root]);
            File.Delete(file);
        }
        return (new PulledImage(json["config"]!["digest"]!.GetValue<string>(), $"{host}/{name}@{manifest.Digest}"), null);
    }

    // The runner's generated script echoes each command in bold green before running it.
    private static string Dollar(string line) => $"\u001b[32;1m$ {line}{RunnerLog.Reset}";

    public static async Task<bool> RunScriptAsync(Job job, IReadOnlyList<string> lines, IReadOnlyDictionary<string, string> env, string dir, CancellationToken ct)
    {
        var script = new StringBuilder("set -eo pipefail\n");
        foreach (var line in lines)
        {
            script.Append("printf '%s\\n' ").Append(Quote(Dollar(line))).Append('\n');
            script.Append(line).Append('\n');
        }
        var file = Path.Combine(Path.GetTempPath(), $"sandbox-script-{job.Id}-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(file, script.ToString(), ct);
        try
        {
            return await Shell.RunAsync("bash", [file], dir, env, job.Log, ct) == 0;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}

/// <summary>Image references as CI writes them: <c>host:port/group/project/suffix:tag</c>.</summary>
public static class ImageReference
{
    public static (string Name, string Tag) Split(string reference, out string? host)
    {
        var slash = reference.IndexOf('/');
        host = slash > 0 && (reference[..slash].Contains(':') || reference[..slash].Contains('.')) ? reference[..slash] : null;
        var rest = host is null ? reference : reference[(slash + 1)..];
        var at = rest.IndexOf('@');
        if (at > 0) return (rest[..at], rest[(at + 1)..]);
        var colon = rest.LastIndexOf(':');
        return colon > rest.LastIndexOf('/') && colon > 0 ? (rest[..colon], rest[(colon + 1)..]) : (rest, "latest");
    }
}

public static class Shell
{
    public static async Task<int> RunAsync(string file, IReadOnlyList<string> args, string? dir = null,
        IReadOnlyDictionary<string, string>? env = null, Action<string>? output = null, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (dir is not null) psi.WorkingDirectory = dir;
        if (env is not null)
        {
            psi.Environment.Clear();
            foreach (var (k, v) in env) psi.Environment[k] = v;
        }
        using var process = Process.Start(psi)!;
        var lines = output ?? (_ => { });
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var kill = ct.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } });
        await process.WaitForExitAsync(CancellationToken.None);
        ct.ThrowIfCancellationRequested();
        if (output is null && process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}");
        return process.ExitCode;
    }
}
