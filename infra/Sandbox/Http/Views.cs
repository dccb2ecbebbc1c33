using System.Globalization;
using System.Text.Json.Nodes;
using Sandbox.Git;
using Sandbox.Model;

namespace Sandbox.Http;

/// <summary>GitLab's JSON shapes (docs/api), filled from the sandbox's state; field names and types as GitLab sends them.</summary>
public sealed class Views(SandboxStore store)
{
    public static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static JsonNode? Time(DateTimeOffset? t) => t is { } v ? Time(v) : null;

    private static string GitTime(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    public JsonObject UserBasic(User u) => new()
    {
        ["id"] = u.Id,
        ["username"] = u.Username,
        ["name"] = u.Name,
        ["state"] = u.State,
        ["locked"] = false,
        ["avatar_url"] = store.WebUrl($"uploads/-/system/user/avatar/{u.Id}/avatar.png"),
        ["web_url"] = store.WebUrl(u.Username),
    };

    public JsonNode? UserBasic(long? id) => id is { } v && store.Users.TryGetValue(v, out var u) ? UserBasic(u) : null;

    public JsonObject User(User u, bool withPrivate)
    {
        var o = UserBasic(u);
        o["created_at"] = Time(u.CreatedAt);
        o["bio"] = "";
        o["location"] = null;
        o["public_email"] = "";
        o["skype"] = "";
        o["linkedin"] = "";
        o["twitter"] = "";
        o["website_url"] = "";
        o["organization"] = "";
        if (withPrivate)
        {
            o["email"] = u.Email;
            o["is_admin"] = u.IsAdmin;
        }
        return o;
    }

    public JsonObject Token(PersonalAccessToken t, bool withValue)
    {
        var o = new JsonObject
        {
            ["id"] = t.Id, ["name"] = t.Name, ["revoked"] = false, ["created_at"] = Time(t.CreatedAt),
            ["scopes"] = new JsonArray([.. t.Scopes.Select(s => (JsonNode?)s)]), ["user_id"] = t.UserId, ["active"] = true,
            ["expires_at"] = t.ExpiresAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
        if (withValue) o["token"] = t.Value;
        return o;
    }

    public JsonObject Group(Group g) => new()
    {
        ["id"] = g.Id, ["name"] = g.Name, ["path"] = g.Path, ["full_name"] = g.Name, ["full_path"] = g.Path,
        ["description"] = "", ["visibility"] = "private", ["parent_id"] = null, ["created_at"] = Time(g.CreatedAt),
        ["web_url"] = store.WebUrl($"groups/{g.Path}"),
    };

    public JsonObject Project(Project p, User caller)
    {
        var o = new JsonObject
        {
            ["id"] = p.Id,
            ["description"] = p.Description,
            ["name"] = p.Name,
            ["name_with_namespace"] = $"{p.NamespacePath} / {p.Name}",
            ["path"] = p.Path,
            ["path_with_namespace"] = p.FullPath,
            ["created_at"] = Time(p.CreatedAt),
            ["default_branch"] = p.DefaultBranch,
            ["visibility"] = p.Visibility,
            ["ssh_url_to_repo"] = $"git@sandbox:{p.FullPath}.git",
            ["http_url_to_repo"] = store.WebUrl($"{p.FullPath}.git"),
            ["web_url"] = store.WebUrl(p.FullPath),
            ["namespace"] = new JsonObject
            {
                ["id"] = p.NamespaceId, ["name"] = p.NamespacePath, ["path"] = p.NamespacePath, ["kind"] = p.NamespaceKind,
                ["full_path"] = p.NamespacePath,
            },
            ["last_activity_at"] = Time(p.LastActivityAt),
            ["merge_method"] = p.MergeMethod,
            ["squash_option"] = p.SquashOption,
            ["approvals_before_merge"] = p.ApprovalsRequired,
            ["only_allow_merge_if_all_discussions_are_resolved"] = p.OnlyAllowMergeIfAllDiscussionsAreResolved,
            ["only_allow_merge_if_pipeline_succeeds"] = false,
            ["merge_requests_enabled"] = true,
            ["jobs_enabled"] = true,
            ["container_registry_enabled"] = true,
            ["creator_id"] = p.CreatorId,
            ["permissions"] = new JsonObject
            {
                ["project_access"] = p.Members.TryGetValue(caller.Id, out var level)
                    ? new JsonObject { ["access_level"] = level, ["notification_level"] = 3 }
                    : null,
                ["group_access"] = null,
            },
        };
        // GitLab shows the CI/CD settings only to those who may administer the project.
        if (caller.IsAdmin || store.AccessLevelOf(p, caller) >= AccessLevel.Maintainer)
            o["ci_allow_fork_pipelines_to_run_in_parent_project"] = p.CiAllowForkPipelinesToRunInParentProject;
        if (p.ForkedFromId is { } f && store.Projects.TryGetValue(f, out var parent))
            o["forked_from_project"] = new JsonObject
            {
                ["id"] = parent.Id, ["name"] = parent.Name, ["path"] = parent.Path, ["path_with_namespace"] = parent.FullPath,
                ["web_url"] = store.WebUrl(parent.FullPath),
            };
        return o;
    }

    /// <summary>GitLab's Entities::Member; the email only for admins, as GitLab shows it to those who administer all resources.</summary>
    public JsonObject Member(User u, int level, MemberOrigin? origin, User caller)
    {
        var o = new JsonObject
        {
            ["id"] = u.Id, ["username"] = u.Username, ["name"] = u.Name, ["state"] = u.State,
            ["avatar_url"] = store.WebUrl($"uploads/-/system/user/avatar/{u.Id}/avatar.png"), ["web_url"] = store.WebUrl(u.Username),
            ["access_level"] = level, ["created_at"] = Time(origin?.CreatedAt ?? u.CreatedAt),
            ["created_by"] = origin?.CreatedById is { } by ? MemberCreator(store.UserById(by)) : null,
            ["expires_at"] = null, ["group_saml_identity"] = null,
        };
        if (caller.IsAdmin) o["email"] = u.Email;
        return o;
    }

    private JsonObject MemberCreator(User u)
    {
        var o = UserBasic(u);
        o.Remove("locked");
        return o;
    }

    public JsonObject Commit(Project p, CommitInfo c)
    {
        return new JsonObject
        {
            ["id"] = c.Id,
            ["short_id"] = c.Id[..8],
            ["created_at"] = GitTime(c.CommittedDate),
            ["parent_ids"] = new JsonArray([.. c.ParentIds.Select(x => (JsonNode?)x)]),
            ["title"] = c.Title,
            ["message"] = c.Message,
            ["author_name"] = c.AuthorName,
            ["author_email"] = c.AuthorEmail,
            ["authored_date"] = GitTime(c.AuthoredDate),
            ["committer_name"] = c.CommitterName,
            ["committer_email"] = c.CommitterEmail,
            ["committed_date"] = GitTime(c.CommittedDate),
            ["trailers"] = new JsonObject(),
            ["web_url"] = store.WebUrl($"{p.FullPath}/-/commit/{c.Id}"),
        };
    }

    public JsonObject Branch(Project p, string name, CommitInfo head, string defaultHead, bool merged, User caller) => new()
    {
        ["name"] = name,
        ["merged"] = merged,
        ["protected"] = p.IsProtected(name),
        ["default"] = name == p.DefaultBranch,
        // GitLab's ProtectedBranch.developers_can?: a matching rule names the Developer role (so false when unprotected).
        ["developers_can_push"] = p.ProtectionsOf(name).Any(r => r.PushAccess.Any(a => a.AccessLevel == AccessLevel.Developer)),
        ["developers_can_merge"] = p.ProtectionsOf(name).Any(r => r.MergeAccess.Any(a => a.AccessLevel == AccessLevel.Developer)),
        ["can_push"] = store.CanPush(p, name, caller),
        ["web_url"] = store.WebUrl($"{p.FullPath}/-/tree/{name}"),
        ["commit"] = Commit(p, head),
    };

    public JsonObject Note(Note n, MergeRequest mr) => new()
    {
        ["id"] = n.Id,
        ["type"] = n.Resolvable ? "DiscussionNote" : null,
        ["body"] = n.Body,
        ["attachment"] = null,
        ["author"] = NoteAuthor(n.AuthorId),
        ["created_at"] = Time(n.CreatedAt),
        ["updated_at"] = Time(n.UpdatedAt),
        ["system"] = n.System,
        ["noteable_id"] = mr.Id,
        ["noteable_type"] = "MergeRequest",
        ["project_id"] = mr.TargetProjectId,
        ["noteable_iid"] = mr.Iid,
        ["resolvable"] = n.Resolvable,
        ["resolved"] = n.Resolvable ? n.Resolved : null,
        ["resolved_by"] = n.Resolvable ? UserBasic(n.ResolvedById) : null,
        ["resolved_at"] = n.Resolvable ? Time(n.ResolvedAt) : null,
        ["confidential"] = false,
        ["internal"] = false,
    };

    private JsonObject NoteAuthor(long id)
    {
        var u = store.UserById(id);
        return new JsonObject
        {
            ["id"] = u.Id, ["username"] = u.Username, ["email"] = u.Email, ["name"] = u.Name, ["state"] = u.State,
            ["created_at"] = Time(u.CreatedAt),
        };
    }

    public JsonObject Discussion(Discussion d, MergeRequest mr) => new()
    {
        ["id"] = d.Id,
        ["individual_note"] = d.IndividualNote,
        ["notes"] = new JsonArray([.. d.Notes.Select(n => (JsonNode?)Note(n, mr))]),
    };

    public JsonObject MergeRequest(MergeRequest mr, Mergeability m, bool includeRebaseInProgress)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var assignees = new JsonArray([.. mr.AssigneeIds.Select(id => UserBasic(id))]);
        var o = new JsonObject
        {
            ["id"] = mr.Id,
            ["iid"] = mr.Iid,
            ["project_id"] = mr.TargetProjectId,
            ["title"] = mr.Title,
            ["description"] = mr.Description,
            ["state"] = mr.State,
            ["imported"] = false,
            ["imported_from"] = "none",
            ["created_at"] = Time(mr.CreatedAt),
            ["updated_at"] = Time(mr.UpdatedAt),
            ["merged_by"] = UserBasic(mr.MergedById),
            ["merge_user"] = UserBasic(mr.MergedById),
            ["merged_at"] = Time(mr.MergedAt),
            ["merge_after"] = null,
            ["prepared_at"] = Time(mr.CreatedAt),
            ["closed_by"] = UserBasic(mr.ClosedById),
            ["closed_at"] = Time(mr.ClosedAt),
            ["target_branch"] = mr.TargetBranch,
            ["source_branch"] = mr.SourceBranch,
            ["user_notes_count"] = mr.Notes.Count(n => !n.System),
            ["upvotes"] = 0,
            ["downvotes"] = 0,
            ["author"] = UserBasic(mr.AuthorId),
            ["assignees"] = assignees,
            ["assignee"] = mr.AssigneeIds.Count > 0 ? UserBasic(mr.AssigneeIds[0]) : null,
            ["reviewers"] = new JsonArray([.. mr.ReviewerIds.Select(id => UserBasic(id))]),
            ["source_project_id"] = mr.SourceProjectId,
            ["target_project_id"] = mr.TargetProjectId,
            ["labels"] = new JsonArray([.. mr.Labels.Select(l => (JsonNode?)l)]),
            ["draft"] = mr.IsDraft,
            ["work_in_progress"] = mr.IsDraft,
            ["milestone"] = null,
            ["merge_when_pipeline_succeeds"] = false,
            ["merge_status"] = m.MergeStatus,
            ["detailed_merge_status"] = m.DetailedMergeStatus,
            ["sha"] = m.Sha,
            ["merge_commit_sha"] = mr.MergeCommitSha,
            ["squash_commit_sha"] = mr.SquashCommitSha,
            ["discussion_locked"] = mr.DiscussionLocked ? true : null,
            ["should_remove_source_branch"] = mr.ShouldRemoveSourceBranch,
            ["force_remove_source_branch"] = mr.ForceRemoveSourceBranch,
            ["allow_collaboration"] = mr.AllowCollaboration,
            ["allow_maintainer_to_push"] = mr.AllowCollaboration,
            ["reference"] = $"!{mr.Iid}",
            ["references"] = new JsonObject
            {
                ["short"] = $"!{mr.Iid}", ["relative"] = $"!{mr.Iid}", ["full"] = $"{target.FullPath}!{mr.Iid}",
            },
            ["web_url"] = store.WebUrl($"{target.FullPath}/-/merge_requests/{mr.Iid}"),
            ["time_stats"] = new JsonObject
            {
                ["time_estimate"] = 0, ["total_time_spent"] = 0, ["human_time_estimate"] = null, ["human_total_time_spent"] = null,
            },
            ["squash"] = mr.Squash,
            ["squash_on_merge"] = target.SquashesOnMerge(mr.Squash),
            ["task_completion_status"] = new JsonObject { ["count"] = 0, ["completed_count"] = 0 },
            ["has_conflicts"] = m.HasConflicts,
            ["blocking_discussions_resolved"] = m.BlockingDiscussionsResolved,
            ["approvals_before_merge"] = target.ApprovalsRequired,
            ["subscribed"] = false,
            ["changes_count"] = m.ChangesCount?.ToString(CultureInfo.InvariantCulture),
            ["latest_build_started_at"] = null,
            ["latest_build_finished_at"] = null,
            ["first_deployed_to_production_at"] = null,
            ["pipeline"] = null,
            ["head_pipeline"] = null,
            ["diff_refs"] = m.Sha is null ? null : new JsonObject
            {
                ["base_sha"] = m.BaseSha, ["head_sha"] = m.Sha, ["start_sha"] = m.StartSha,
            },
            ["merge_error"] = mr.MergeError,
            ["first_contribution"] = false,
            ["user"] = new JsonObject { ["can_merge"] = false },
        };
        if (includeRebaseInProgress) o["rebase_in_progress"] = mr.RebaseInProgress;
        return o;
    }

    public JsonObject Approvals(MergeRequest mr)
    {
        var target = store.ProjectById(mr.TargetProjectId);
        var left = Math.Max(0, target.ApprovalsRequired - mr.ApprovedBy.Count);
        return new JsonObject
        {
            ["id"] = mr.Id, ["iid"] = mr.Iid, ["project_id"] = mr.TargetProjectId, ["title"] = mr.Title,
            ["description"] = mr.Description, ["state"] = mr.State, ["created_at"] = Time(mr.CreatedAt),
            ["updated_at"] = Time(mr.UpdatedAt), ["merge_status"] = "can_be_merged",
            ["approved"] = left == 0 && (target.ApprovalsRequired > 0 || mr.ApprovedBy.Count > 0),
            ["approvals_required"] = target.ApprovalsRequired,
            ["approvals_left"] = left,
            ["approved_by"] = new JsonArray([.. mr.ApprovedBy.Select(id => (JsonNode?)new JsonObject { ["user"] = UserBasic(id) })]),
        };
    }
}
