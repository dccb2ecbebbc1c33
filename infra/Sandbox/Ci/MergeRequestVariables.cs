using Sandbox.Model;

namespace Sandbox.Ci;

/// <summary>
/// The predefined variables GitLab gives a merge request pipeline (Gitlab::Ci::Variables::Builder::Pipeline and
/// MergeRequest#predefined_variables): the merge request's are the same wherever the pipeline runs, while
/// <c>CI_PROJECT_*</c> and <c>CI_REGISTRY_IMAGE</c> stay those of the project it runs in. A detached pipeline's
/// <c>CI_MERGE_REQUEST_SOURCE_BRANCH_SHA</c>/<c>TARGET_BRANCH_SHA</c> are empty: GitLab fills them only for merged results.
/// </summary>
public static class MergeRequestVariables
{
    public static IEnumerable<KeyValuePair<string, string>> Of(SandboxStore store, Pipeline pipeline, MergeRequest mr)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var source = store.ProjectById(mr.SourceProjectId);
        return new Dictionary<string, string>
        {
            // A merge request pipeline names the source branch as its ref name and is not a branch pipeline.
            ["CI_COMMIT_REF_NAME"] = mr.SourceBranch,
            ["CI_MERGE_REQUEST_EVENT_TYPE"] = "detached",
            ["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] = "",
            ["CI_MERGE_REQUEST_TARGET_BRANCH_SHA"] = "",
            ["CI_MERGE_REQUEST_ID"] = mr.Id.ToString(),
            ["CI_MERGE_REQUEST_IID"] = mr.Iid.ToString(),
            ["CI_MERGE_REQUEST_REF_PATH"] = $"refs/merge-requests/{mr.Iid}/head",
            ["CI_MERGE_REQUEST_PROJECT_ID"] = target.Id.ToString(),
            ["CI_MERGE_REQUEST_PROJECT_PATH"] = target.FullPath,
            ["CI_MERGE_REQUEST_PROJECT_URL"] = store.WebUrl(target.FullPath),
            ["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = mr.TargetBranch,
            ["CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED"] = target.IsProtected(mr.TargetBranch) ? "true" : "false",
            ["CI_MERGE_REQUEST_TITLE"] = mr.Title,
            ["CI_MERGE_REQUEST_DRAFT"] = mr.IsDraft ? "true" : "false",
            ["CI_MERGE_REQUEST_SQUASH_ON_MERGE"] = mr.Squash ? "true" : "false",
            ["CI_MERGE_REQUEST_SOURCE_PROJECT_ID"] = source.Id.ToString(),
            ["CI_MERGE_REQUEST_SOURCE_PROJECT_PATH"] = source.FullPath,
            ["CI_MERGE_REQUEST_SOURCE_PROJECT_URL"] = store.WebUrl(source.FullPath),
            ["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] = mr.SourceBranch,
        }.Concat(Optional(store, mr));
    }

    private static IEnumerable<KeyValuePair<string, string>> Optional(SandboxStore store, MergeRequest mr)
    {
        if (mr.AssigneeIds.Count > 0)
            yield return new("CI_MERGE_REQUEST_ASSIGNEES", string.Join(',', mr.AssigneeIds.Select(id => store.UserById(id).Username)));
        if (mr.Labels.Count > 0) yield return new("CI_MERGE_REQUEST_LABELS", string.Join(',', mr.Labels));
    }
}
