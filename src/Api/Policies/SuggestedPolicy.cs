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
    // What GitLab answered: the suggestion (null: no image), or the lint's errors when the configuration is invalid.
    private sealed record Outcome(ProjectPolicy? Policy, IReadOnlyList<string>? LintErrors, string? Commit);

    public static async Task<Results<Ok<ProjectPolicy>, ProblemHttpResult>> GetAsync(HttpContext http, IGitLabClient gitlab,
        IHttpClientFactory factory)
    {
        var project = http.Project();
        if (!GitLabLookup.Configured(http))
            return Problems.Make(StatusCodes.Status503ServiceUnavailable, "gitlab-unavailable", "GitLab unavailable",
                "no GitLab is configured to read the project's CI configuration from");
        var lint = GitLabCiLint.From(factory);
        var (outcome, unavailable) = await GitLabLookup.TryAsync(http, $"the CI configuration of project {project}", async ct =>
        {
            var branch = await lint.DefaultBranchAsync(project, ct);
            var head = branch is null ? null : await gitlab.BranchHeadAsync(project, branch, ct);
            if (head is null) return new Outcome(null, null, null);
            var result = await lint.LintAsync(project, head, ct);
            if (result.MergedYaml is null) return new Outcome(null, result.Errors, head);
            var policy = await PolicySuggestion.SuggestAsync(result.MergedYaml, (path, c) => gitlab.GetRawFileAsync(project, path, head, c), ct);
            return new Outcome(policy, null, head);
        });
        if (unavailable is not null) return unavailable;
        if (outcome is null) return Problems.NotFound($"GitLab shows the bot no project {project}");
        if (outcome.LintErrors is { } errors)
            return Problems.Make(StatusCodes.Status422UnprocessableEntity, "invalid-ci-config", "Invalid CI configuration",
                $"GitLab's lint of {outcome.Commit} merged no configuration: {string.Join("; ", errors)}");
        return outcome.Policy is { } suggested
            ? TypedResults.Ok(suggested)
            : Problems.NotFound(outcome.Commit is null
                ? $"project {project} has no default branch to read a CI configuration from"
                : $"project {project} builds no ci-templates image at {outcome.Commit}: there is no image policy to suggest");
    }
}
