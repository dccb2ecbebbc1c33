using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Sandbox.Ci;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Hooks;

/// <summary>
/// GitLab's webhook payloads (doc/user/project/integrations/webhook_events.md) built from the sandbox's state,
/// for push, merge request, pipeline, job and note events. Called under the lock of the project the event is about, so
/// a project's events are queued in the order they happened.
/// </summary>
public sealed class WebhookEvents(SandboxStore store, WebhookDispatcher dispatcher, MergeRequestService merges)
{
    private readonly ConcurrentDictionary<long, string> pipelineStatusSent = new();
    private readonly ConcurrentDictionary<long, string> jobStatusSent = new();

    private static string Utc(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
    private static JsonNode? Utc(DateTimeOffset? t) => t is { } v ? Utc(v) : null;
    private static string Iso(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    private static int VisibilityLevel(Project p) => p.Visibility switch { "public" => 20, "internal" => 10, _ => 0 };

    private JsonObject ProjectObject(Project p) => new()
    {
        ["id"] = p.Id, ["name"] = p.Name, ["description"] = p.Description, ["web_url"] = store.WebUrl(p.FullPath), ["avatar_url"] = null,
        ["git_ssh_url"] = $"git@sandbox:{p.FullPath}.git", ["git_http_url"] = store.WebUrl($"{p.FullPath}.git"), ["namespace"] = p.NamespacePath,
        ["visibility_level"] = VisibilityLevel(p), ["path_with_namespace"] = p.FullPath, ["default_branch"] = p.DefaultBranch,
        ["ci_config_path"] = null, ["homepage"] = store.WebUrl(p.FullPath), ["url"] = $"git@sandbox:{p.FullPath}.git",
        ["ssh_url"] = $"git@sandbox:{p.FullPath}.git", ["http_url"] = store.WebUrl($"{p.FullPath}.git"),
    };

    private JsonObject Repository(Project p) => new()
    {
        ["name"] = p.Name, ["url"] = $"git@sandbox:{p.FullPath}.git", ["description"] = p.Description, ["homepage"] = store.WebUrl(p.FullPath),
        ["git_http_url"] = store.WebUrl($"{p.FullPath}.git"), ["git_ssh_url"] = $"git@sandbox:{p.FullPath}.git", ["visibility_level"] = VisibilityLevel(p),
    };

    private JsonObject UserObject(User u) => new()
    {
        ["id"] = u.Id, ["name"] = u.Name, ["username"] = u.Username,
        ["avatar_url"] = store.WebUrl($"uploads/-/system/user/avatar/{u.Id}/avatar.png"), ["email"] = u.Email,
    };

    private JsonObject Label(Project p, string title)
    {
        var label = store.LabelOf(p, title);
        return new JsonObject
        {
            ["id"] = label.Id, ["title"] = label.Title, ["color"] = label.Color, ["project_id"] = p.Id,
            ["created_at"] = Iso(label.CreatedAt), ["updated_at"] = Iso(label.CreatedAt), ["template"] = false, ["description"] = null,
            ["type"] = "ProjectLabel", ["group_id"] = null,
        };
    }

    private JsonObject CommitObject(Project p, CommitInfo c) => new()
    {
        ["id"] = c.Id, ["message"] = c.Message, ["title"] = c.Title, ["timestamp"] = c.CommittedDate.ToString("yyyy-MM-dd'T'HH:mm:sszzz"),
        ["url"] = store.WebUrl($"{p.FullPath}/-/commit/{c.Id}"), ["author"] = new JsonObject { ["name"] = c.AuthorName, ["email"] = c.AuthorEmail },
    };

    /// <summary>A branch pushed, created or (with the zero SHA as <paramref name="after"/>) deleted.</summary>
    public async Task PushAsync(Project project, string branch, string? before, string after, User user)
    {
        var repo = store.Repo(project);
        var zero = GitRef.Blank;
        var deleted = GitRef.IsBlank(after);
        // A new branch lists the commits the default branch does not have, as GitLab does; a deletion lists none.
        var defaultHead = await repo.BranchHeadAsync(project.DefaultBranch);
        var range = before is not null && before != zero ? $"{before}..{after}"
            : branch != project.DefaultBranch && defaultHead is not null ? $"{defaultHead}..{after}"
            : after;
        var commits = deleted ? [] : await repo.LogAsync(range, 20);
        var list = new JsonArray();
        foreach (var c in commits.Reverse())
        {
            var o = CommitObject(project, c);
            var changes = c.ParentIds.Count > 0 ? await repo.DiffAsync(c.ParentIds[0], c.Id) : [];
            o["added"] = new JsonArray([.. changes.Where(d => d.NewFile).Select(d => (JsonNode?)d.NewPath)]);
            o["modified"] = new JsonArray([.. changes.Where(d => !d.NewFile && !d.DeletedFile).Select(d => (JsonNode?)d.NewPath)]);
            o["removed"] = new JsonArray([.. changes.Where(d => d.DeletedFile).Select(d => (JsonNode?)d.OldPath)]);
            list.Add(o);
        }
        var total = deleted ? "0" : (await GitCli.RunAsync(repo.Path, "rev-list", "--count", range)).Trim();
        dispatcher.Enqueue(project.Id, "Push Hook", new JsonObject
        {
            ["object_kind"] = "push", ["event_name"] = "push", ["before"] = before ?? zero, ["after"] = after, ["ref"] = $"refs/heads/{branch}",
            ["ref_protected"] = project.IsProtected(branch), ["checkout_sha"] = deleted ? null : after, ["message"] = null,
            ["user_id"] = user.Id, ["user_name"] = user.Name, ["user_username"] = user.Username, ["user_email"] = user.Email,
            ["user_avatar"] = store.WebUrl($"uploads/-/system/user/avatar/{user.Id}/avatar.png"), ["project_id"] = project.Id,
            ["project"] = ProjectObject(project), ["commits"] = list, ["total_commits_count"] = int.Parse(total, CultureInfo.InvariantCulture), ["repository"] = Repository(project),
        }.ToJsonString());
    }

    /// <summary><c>action</c>: open, close, reopen, update, approved, unapproved, merge.</summary>
    public async Task MergeRequestAsync(MergeRequest mr, string action, User user, string? oldrev = null, JsonObject? changes = null)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var source = store.ProjectById(mr.SourceProjectId);
        var m = await merges.EvaluateAsync(mr);
        var lastCommit = m.Sha is null ? null : CommitObject(source, await store.Repo(mr.State == "merged" ? target : source).CommitAsync(m.Sha));
        var labels = new JsonArray([.. mr.Labels.Select(l => (JsonNode?)Label(target, l))]);
        var attributes = new JsonObject
        {
            ["id"] = mr.Id, ["iid"] = mr.Iid, ["target_branch"] = mr.TargetBranch, ["source_branch"] = mr.SourceBranch,
            ["source_project_id"] = mr.SourceProjectId, ["author_id"] = mr.AuthorId,
            ["assignee_ids"] = new JsonArray([.. mr.AssigneeIds.Select(id => (JsonNode?)id)]), ["assignee_id"] = mr.AssigneeIds.Count > 0 ? mr.AssigneeIds[0] : null,
            ["reviewer_ids"] = new JsonArray([.. mr.ReviewerIds.Select(id => (JsonNode?)id)]),
            ["title"] = mr.Title, ["created_at"] = Iso(mr.CreatedAt), ["updated_at"] = Iso(mr.UpdatedAt), ["last_edited_at"] = Iso(mr.UpdatedAt),
            ["last_edited_by_id"] = user.Id, ["milestone_id"] = null,
            ["state_id"] = mr.State switch { "opened" => 1, "closed" => 2, "merged" => 3, _ => 4 }, ["state"] = mr.State,
            ["blocking_discussions_resolved"] = m.BlockingDiscussionsResolved, ["work_in_progress"] = mr.IsDraft, ["draft"] = mr.IsDraft,
            ["first_contribution"] = false, ["merge_status"] = m.MergeStatus, ["target_project_id"] = mr.TargetProjectId,
            ["description"] = mr.Description, ["prepared_at"] = Iso(mr.CreatedAt), ["total_time_spent"] = 0, ["time_change"] = 0,
            ["human_total_time_spent"] = null, ["human_time_change"] = null, ["human_time_estimate"] = null,
            ["url"] = store.WebUrl($"{target.FullPath}/-/merge_requests/{mr.Iid}"),
            ["source"] = ProjectObject(source), ["target"] = ProjectObject(target), ["last_commit"] = lastCommit, ["labels"] = labels.DeepClone(),
            ["action"] = action, ["detailed_merge_status"] = m.DetailedMergeStatus,
        };
        if (oldrev is not null) attributes["oldrev"] = oldrev;
        // Callers name labels by title and people by id; the hook carries GitLab's full label and user objects.
        Expand(changes?["labels"], t => Label(target, t!["title"]!.GetValue<string>()));
        Expand(changes?["assignees"], id => UserObject(store.UserById(id!.GetValue<long>())));
        Expand(changes?["reviewers"], id => UserObject(store.UserById(id!.GetValue<long>())));
        if (action == "merge") attributes["merge_commit_sha"] = mr.MergeCommitSha;
        var payload = new JsonObject
        {
            ["object_kind"] = "merge_request", ["event_type"] = "merge_request", ["user"] = UserObject(user), ["project"] = ProjectObject(target),
            ["repository"] = Repository(target), ["object_attributes"] = attributes, ["labels"] = labels,
            ["changes"] = changes ?? new JsonObject
            {
                ["updated_at"] = new JsonObject { ["previous"] = Utc(mr.CreatedAt), ["current"] = Utc(mr.UpdatedAt) },
            },
            ["assignees"] = new JsonArray([.. mr.AssigneeIds.Select(id => (JsonNode?)UserObject(store.UserById(id)))]),
            ["reviewers"] = new JsonArray([.. mr.ReviewerIds.Select(id => (JsonNode?)UserObject(store.UserById(id)))]),
        };
        dispatcher.Enqueue(target.Id, "Merge Request Hook", payload.ToJsonString());
    }

    private static void Expand(JsonNode? change, Func<JsonNode?, JsonObject> full)
    {
        if (change is not JsonObject sides) return;
        foreach (var side in new[] { "previous", "current" })
            if (sides[side] is JsonArray items)
                sides[side] = new JsonArray([.. items.Select(i => (JsonNode?)full(i))]);
    }

    public async Task NoteAsync(Note note, MergeRequest mr, User user)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var source = store.ProjectById(mr.SourceProjectId);
        var m = await merges.EvaluateAsync(mr);
        var payload = new JsonObject
        {
            ["object_kind"] = "note", ["event_type"] = "note", ["user"] = UserObject(user), ["project_id"] = target.Id,
            ["project"] = ProjectObject(target), ["repository"] = Repository(target),
            ["object_attributes"] = new JsonObject
            {
                ["id"] = note.Id, ["note"] = note.Body, ["noteable_type"] = "MergeRequest", ["author_id"] = note.AuthorId,
                ["created_at"] = Utc(note.CreatedAt), ["updated_at"] = Utc(note.UpdatedAt), ["project_id"] = target.Id, ["attachment"] = null,
                ["line_code"] = null, ["commit_id"] = "", ["noteable_id"] = mr.Id, ["system"] = note.System, ["st_diff"] = null,
                ["action"] = "create", ["url"] = store.WebUrl($"{target.FullPath}/-/merge_requests/{mr.Iid}#note_{note.Id}"),
            },
            ["merge_request"] = new JsonObject
            {
                ["id"] = mr.Id, ["target_branch"] = mr.TargetBranch, ["source_branch"] = mr.SourceBranch, ["source_project_id"] = mr.SourceProjectId,
                ["author_id"] = mr.AuthorId, ["assignee_id"] = mr.AssigneeIds.Count > 0 ? mr.AssigneeIds[0] : null, ["title"] = mr.Title,
                ["created_at"] = Utc(mr.CreatedAt), ["updated_at"] = Utc(mr.UpdatedAt), ["milestone_id"] = null, ["state"] = mr.State,
                ["merge_status"] = m.MergeStatus, ["target_project_id"] = mr.TargetProjectId, ["iid"] = mr.Iid, ["description"] = mr.Description,
                ["position"] = 0, ["labels"] = new JsonArray([.. mr.Labels.Select(l => (JsonNode?)Label(target, l))]),
                ["source"] = ProjectObject(source), ["target"] = ProjectObject(target),
                ["last_commit"] = m.Sha is null ? null : CommitObject(source, await store.Repo(source).CommitAsync(m.Sha)),
                ["work_in_progress"] = mr.IsDraft, ["draft"] = mr.IsDraft,
                ["assignee"] = mr.AssigneeIds.Count > 0 ? UserObject(store.UserById(mr.AssigneeIds[0])) : null,
                ["detailed_merge_status"] = m.DetailedMergeStatus,
            },
        };
        dispatcher.Enqueue(target.Id, "Note Hook", payload.ToJsonString());
    }

    public void Pipeline(Pipeline p)
    {
        if (pipelineStatusSent.GetValueOrDefault(p.Id) == p.Status) return;
        pipelineStatusSent[p.Id] = p.Status;
        var project = store.ProjectById(p.ProjectId);
        var mr = p.MergeRequest;
        var payload = new JsonObject
        {
            ["object_kind"] = "pipeline",
            ["object_attributes"] = new JsonObject
            {
                ["id"] = p.Id, ["iid"] = p.Iid, ["name"] = null, ["ref"] = p.Ref, ["tag"] = false, ["sha"] = p.Sha, ["before_sha"] = p.BeforeSha,
                ["source"] = p.Source, ["status"] = p.Status, ["detailed_status"] = p.Status == "success" ? "passed" : p.Status,
                ["stages"] = new JsonArray([.. p.Jobs.Select(j => j.Stage).Distinct().Select(s => (JsonNode?)s)]),
                ["created_at"] = Utc(p.CreatedAt), ["finished_at"] = Utc(p.FinishedAt),
                ["duration"] = p.StartedAt is { } s && p.FinishedAt is { } f ? (int)(f - s).TotalSeconds : null,
                ["queued_duration"] = p.StartedAt is { } st ? (int)(st - p.CreatedAt).TotalSeconds : null,
                ["variables"] = new JsonArray([.. p.Variables.Select(v => (JsonNode?)new JsonObject { ["key"] = v.Key, ["value"] = v.Value })]),
                ["url"] = store.WebUrl($"{project.FullPath}/-/pipelines/{p.Id}"),
            },
            ["merge_request"] = mr is null ? null : new JsonObject
            {
                ["id"] = mr.Id, ["iid"] = mr.Iid, ["title"] = mr.Title, ["source_branch"] = mr.SourceBranch, ["source_project_id"] = mr.SourceProjectId,
                ["target_branch"] = mr.TargetBranch, ["target_project_id"] = mr.TargetProjectId, ["state"] = mr.State,
                ["merge_status"] = "can_be_merged", ["detailed_merge_status"] = "mergeable",
                ["url"] = store.WebUrl($"{project.FullPath}/-/merge_requests/{mr.Iid}"),
            },
            ["user"] = UserObject(store.UserById(p.UserId)),
            ["project"] = ProjectObject(project),
            ["commit"] = CommitObject(project, p.Commit),
            ["source_pipeline"] = null,
            ["builds"] = new JsonArray([.. p.Jobs.Select(j => (JsonNode?)new JsonObject
            {
                ["id"] = j.Id, ["stage"] = j.Stage, ["name"] = j.Name, ["status"] = j.Status, ["created_at"] = Utc(j.CreatedAt),
                ["started_at"] = Utc(j.StartedAt), ["finished_at"] = Utc(j.FinishedAt),
                ["duration"] = j.StartedAt is { } js && j.FinishedAt is { } jf ? (jf - js).TotalSeconds : null,
                ["queued_duration"] = j.StartedAt is { } jq ? (jq - j.CreatedAt).TotalSeconds : null,
                ["failure_reason"] = j.FailureReason, ["when"] = j.Spec.When, ["manual"] = j.Spec.When == "manual", ["allow_failure"] = j.AllowFailure,
                ["user"] = UserObject(store.UserById(j.UserId)), ["runner"] = null,
                ["artifacts_file"] = new JsonObject { ["filename"] = null, ["size"] = null }, ["environment"] = null,
            })]),
        };
        dispatcher.Enqueue(project.Id, "Pipeline Hook", payload.ToJsonString());
    }

    public void Job(Job j)
    {
        if (jobStatusSent.GetValueOrDefault(j.Id) == j.Status) return;
        jobStatusSent[j.Id] = j.Status;
        var p = j.Pipeline;
        var project = store.ProjectById(p.ProjectId);
        var user = store.UserById(j.UserId);
        string? Iso2(DateTimeOffset? t) => t is { } v ? Iso(v) : null;
        var payload = new JsonObject
        {
            ["object_kind"] = "build", ["ref"] = p.Ref, ["tag"] = false, ["before_sha"] = p.BeforeSha, ["sha"] = p.Sha,
            ["build_id"] = j.Id, ["build_name"] = j.Name, ["build_stage"] = j.Stage, ["build_status"] = j.Status,
            ["build_created_at"] = Views.Time(j.CreatedAt), ["build_created_at_iso"] = Iso(j.CreatedAt),
            ["build_started_at"] = j.StartedAt is { } s ? Views.Time(s) : null, ["build_started_at_iso"] = Iso2(j.StartedAt),
            ["build_finished_at"] = j.FinishedAt is { } f ? Views.Time(f) : null, ["build_finished_at_iso"] = Iso2(j.FinishedAt),
            ["build_duration"] = j.StartedAt is { } ds && j.FinishedAt is { } df ? (df - ds).TotalSeconds : null,
            ["build_queued_duration"] = ((j.StartedAt ?? store.Now) - j.CreatedAt).TotalSeconds,
            ["build_allow_failure"] = j.AllowFailure, ["build_failure_reason"] = j.FailureReason ?? "unknown_failure", ["retries_count"] = 0,
            ["pipeline_id"] = p.Id, ["project_id"] = project.Id, ["project_name"] = $"{project.NamespacePath} / {project.Name}",
            ["user"] = new JsonObject
            {
                ["id"] = user.Id, ["name"] = user.Name, ["email"] = user.Email,
                ["avatar_url"] = store.WebUrl($"uploads/-/system/user/avatar/{user.Id}/avatar.png"),
            },
            ["commit"] = new JsonObject
            {
                ["id"] = p.Id, ["name"] = null, ["sha"] = p.Sha, ["message"] = p.Commit.Message, ["author_name"] = p.Commit.AuthorName,
                ["author_email"] = p.Commit.AuthorEmail, ["status"] = p.Status,
                ["duration"] = p.StartedAt is { } ps && p.FinishedAt is { } pf ? (int)(pf - ps).TotalSeconds : null,
                ["started_at"] = Utc(p.StartedAt), ["started_at_iso"] = Iso2(p.StartedAt),
                ["finished_at"] = Utc(p.FinishedAt), ["finished_at_iso"] = Iso2(p.FinishedAt),
            },
            ["repository"] = Repository(project),
            ["project"] = ProjectObject(project),
            ["runner"] = new JsonObject
            {
                ["active"] = true, ["runner_type"] = "instance_type", ["is_shared"] = true, ["id"] = 1, ["description"] = "gitlab-sandbox runner",
                ["tags"] = new JsonArray("sandbox"),
            },
            ["environment"] = null,
            ["source_pipeline"] = null,
        };
        dispatcher.Enqueue(project.Id, "Job Hook", payload.ToJsonString());
    }
}
