using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Hosting;

namespace Orchestrator.Api.Security;

/// <summary>Turns <c>{projectId}</c> — GitLab's number or its URL-encoded path (<c>group%2Fproject</c>) — into the number.</summary>
public sealed class ProjectResolver(IGitLabClient gitlab, IOptions<OrchestratorOptions> options)
{
    private readonly ConcurrentDictionary<string, long> paths = new(StringComparer.OrdinalIgnoreCase);

    public async Task<long?> ResolveAsync(string projectId, CancellationToken ct)
    {
        var text = Uri.UnescapeDataString(projectId);
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return id > 0 ? id : null;
        if (!text.Contains('/') || string.IsNullOrEmpty(options.Value.GitLab.BaseUrl)) return null;
        if (paths.TryGetValue(text, out var known)) return known;
        try
        {
            var project = await gitlab.GetProjectAsync(text, ct);
            return paths[text] = project.Id;
        }
        catch (GitLabException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
