using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Adapters;
using Orchestrator.Api.Http;
using Orchestrator.Api.Security;
using Orchestrator.Domain;
using Orchestrator.Domain.Policies;

namespace Orchestrator.Api.Policies;

/// <summary>
/// <c>GET …/policy?suggested=true</c>: the policy <see cref="PolicySuggestion"/> derives from the project's CI
/// configuration on its default branch's head (GitLab's lint <c>merged_yaml</c>, tag files read at the same commit).
/// Nothing is stored: an admin reviews it and <c>PUT</c>s it.
/// </summary>
public static class SuggestedPolicy
{
    // GitLab answered (a project with no default branch has no result); null from the lookup means GitLab shows no project.
    private sealed record Found(Workflow.PolicySuggestionResult? Result);

    public static async Task<Results<Ok<ProjectPolicy>, ProblemHttpResult>> GetAsync(HttpContext http, Workflow.PolicySuggester suggester)
    {
        var project = http.Project();
        if (!GitLabLookup.Configured(http))
            return Problems.Make(StatusCodes.Status503ServiceUnavailable, "gitlab-unavailable", "GitLab unavailable",
                "no GitLab is configured to read the project's CI configuration from");
        var (found, unavailable) = await GitLabLookup.TryAsync(http, $"the CI configuration of project {project}",
            async ct => new Found(await suggester.AtDefaultBranchAsync(project, ct)));
        if (unavailable is not null) return unavailable;
        if (found is null) return Problems.NotFound($"GitLab shows the bot no project {project}");
        if (found.Result is not { } outcome) return Problems.NotFound($"project {project} has no default branch to read a CI configuration from");
        if (outcome.LintErrors is { } errors)
            return Problems.Make(StatusCodes.Status422UnprocessableEntity, "invalid-ci-config", "Invalid CI configuration",
                $"GitLab's lint of {outcome.Commit} merged no configuration: {string.Join("; ", errors)}");
        return outcome.Policy is { } suggested
            ? TypedResults.Ok(suggested)
            : Problems.NotFound($"project {project} builds no ci-templates image at {outcome.Commit}: there is no image policy to suggest");
    }
}
