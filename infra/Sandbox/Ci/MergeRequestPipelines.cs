using System.Text.Json.Nodes;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Ci;

/// <summary>
/// GitLab's MergeRequests::CreatePipelineService: a merge request pipeline runs in the target project, on
/// <c>refs/merge-requests/:iid/head</c>, when the caller may create pipelines there and — for a fork — the target
/// allows fork pipelines to run in it (for a same-project MR: when the caller may push the source branch);
/// otherwise it runs, without a word, in the source project on the source branch, as that project's pipeline.
/// </summary>
public sealed class MergeRequestPipelines(SandboxStore store, PipelineService pipelines, MergeRequestService mergeRequests)
{
    /// <summary>Under the target's lock (a fork shares it).</summary>
    public async Task<Pipeline> CreateAsync(MergeRequest mr, User user)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var source = store.ProjectById(mr.SourceProjectId);
        var sha = (await mergeRequests.EvaluateAsync(mr)).Sha;
        // GitLab refuses (405) a merge request without commits: nothing to run.
        if (sha is null || mr.State != "opened") throw GitLabError.MethodNotAllowed();
        var inTarget = CanCreatePipeline(target, user) && (mr.SourceProjectId != target.Id
            ? target.CiAllowForkPipelinesToRunInParentProject
            : store.CanPush(target, mr.SourceBranch, user));
        var (project, refName) = inTarget ? (target, $"refs/merge-requests/{mr.Iid}/head") : (source, mr.SourceBranch);
        if (!inTarget && !(CanCreatePipeline(source, user) || store.CanPush(source, mr.SourceBranch, user)))
            throw new GitLabError(400, new JsonObject { ["message"] = new JsonObject { ["base"] = new JsonArray("Insufficient permissions to create a new pipeline") } });
        return (await pipelines.CreateAsync(project, refName, sha, GitRef.Blank, "merge_request_event", user, [], mr, failOnYamlError: true))!;
    }

    /// <summary>GitLab's <c>:create_pipeline</c> on a project: Developers and more.</summary>
    private bool CanCreatePipeline(Project project, User user) => store.AccessLevelOf(project, user) >= AccessLevel.Developer;
}
