using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Hosting;

namespace Orchestrator.Api.Security;

/// <summary>Turns <c>{projectId}</c> — GitLab's number or its URL-encoded path (<c>group%2Fproject</c>) — into the number.</summary>
public sealed class ProjectResolver(IGitLabClient gitlab, IOptions<OrchestratorOptions> options)
{
    // Longer than any path GitLab accepts (255 per segment, 20 levels of groups): asking would only earn a 414.
    private const int MaxPathLength = 2048;

    private readonly ConcurrentDictionary<string, long> paths = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The project's number; null when it names no project; a 503 problem when GitLab could not be asked.</summary>
    public async Task<(long? Id, ProblemHttpResult? Unavailable)> ResolveAsync(HttpContext http, string projectId)
    {
        var text = Uri.UnescapeDataString(projectId);
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return (id > 0 ? id : null, null);
        if (!text.Contains('/') || text.Length > MaxPathLength || string.IsNullOrEmpty(options.Value.GitLab.BaseUrl)) return (null, null);
        if (paths.TryGetValue(text, out var known)) return (known, null);
        var (project, unavailable) = await GitLabLookup.TryAsync(http, $"project '{text}'", async ct => await gitlab.GetProjectAsync(text, ct));
        if (project is null) return (null, unavailable);
        return (paths[text] = project.Id, null);
    }
}
