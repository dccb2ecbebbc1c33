using Orchestrator.Adapters;
using Orchestrator.Domain;
using Orchestrator.Domain.Policies;

namespace Orchestrator.Workflow;

/// <summary>What GitLab's lint said of a project's CI configuration at one commit, and the policy it suggests (null: no image).</summary>
public sealed record PolicySuggestionResult(string Commit, ProjectPolicy? Policy, IReadOnlyList<string>? LintErrors);

/// <summary>
/// Reads a project's CI configuration as GitLab merges it (its lint's <c>merged_yaml</c>) and the tag files at the same
/// commit, for the pure <see cref="PolicySuggestion"/>: used by the policy API and by the workflow, which refuses to
/// merge unchecked images in a project that builds them with no policy stored.
/// </summary>
public sealed class PolicySuggester(IGitLabClient gitlab)
{
    public async Task<PolicySuggestionResult> AtAsync(long project, string commit, CancellationToken ct)
    {
        var lint = await gitlab.LintCiAsync(project, commit, ct);
        if (lint.MergedYaml is null) return new PolicySuggestionResult(commit, null, lint.Errors ?? []);
        var policy = await PolicySuggestion.SuggestAsync(lint.MergedYaml, (path, c) => gitlab.GetRawFileAsync(project, path, commit, c), ct);
        return new PolicySuggestionResult(commit, policy, null);
    }

    /// <summary>The suggestion at the head of the project's default branch; null when the project has none (an empty repository).</summary>
    public async Task<PolicySuggestionResult?> AtDefaultBranchAsync(long project, CancellationToken ct)
    {
        var branch = (await gitlab.GetProjectAsync(project.ToString(), ct)).DefaultBranch;
        var head = branch is null ? null : await gitlab.BranchHeadAsync(project, branch, ct);
        return head is null ? null : await AtAsync(project, head, ct);
    }
}
