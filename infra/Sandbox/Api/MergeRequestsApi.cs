using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Api;

public static class MergeRequestsApi
{
    private const string Base = "/projects/{id}/merge_requests";
    private const string One = Base + "/{iid}";

    public static void MapMergeRequestsApi(this IEndpointRouteBuilder app)
    {
        app.MapGitLab("POST", Base, Create);
        app.MapGitLab("GET", Base, List);
        app.MapGitLab("GET", One, async r =>
        {
            var (_, mr) = Find(r);
            return GitLabEndpoint.Json(await View(r, mr, r.Params.Bool("include_rebase_in_progress") ?? false));
        });
        app.MapGitLab("PUT", One, Update);

        app.MapGitLab("GET", One + "/notes", r =>
        {
            var (_, mr) = Find(r);
            var asc = r.Params.String("sort") == "asc";
            var notes = asc ? mr.Notes.OrderBy(n => n.CreatedAt).ThenBy(n => n.Id) : mr.Notes.OrderByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id);
            return GitLabEndpoint.List(r, [.. notes.Select(n => (JsonNode)r.Service<Views>().Note(n, mr))]);
        });
        app.MapGitLab("POST", One + "/notes", async r =>
        {
            var (_, mr) = Find(r);
            var note = AddDiscussion(r, mr, r.Params.RequiredString("body"), resolvable: false).Notes[0];
            await r.Service<Hooks.WebhookEvents>().NoteAsync(note, mr, r.User);
            return GitLabEndpoint.Json(r.Service<Views>().Note(note, mr), 201);
        });

        app.MapGitLab("GET", One + "/discussions", r =>
        {
            var (_, mr) = Find(r);
            return GitLabEndpoint.List(r, [.. mr.Discussions.Select(d => (JsonNode)r.Service<Views>().Discussion(d, mr))]);
        });
        app.MapGitLab("POST", One + "/discussions", r =>
        {
            var (_, mr) = Find(r);
            var discussion = AddDiscussion(r, mr, r.Params.RequiredString("body"), resolvable: true);
            return GitLabEndpoint.Json(r.Service<Views>().Discussion(discussion, mr), 201);
        });
        app.MapGitLab("POST", One + "/discussions/{discussionId}/notes", r =>
        {
            var (_, mr) = Find(r);
            var discussion = FindDiscussion(r, mr);
            var note = NewNote(r, r.Params.RequiredString("body"), discussion.Notes[0].Resolvable);
            discussion.Notes.Add(note);
            mr.UpdatedAt = r.Store.Now;
            return GitLabEndpoint.Json(r.Service<Views>().Note(note, mr), 201);
        });
        app.MapGitLab("PUT", One + "/discussions/{discussionId}", r =>
        {
            var (target, mr) = Find(r);
            var discussion = FindDiscussion(r, mr);
            var resolved = r.Params.Bool("resolved") ?? throw GitLabError.Missing("resolved");
            if (!discussion.Notes[0].Resolvable) throw GitLabError.BadRequest("Discussion is not resolvable");
            if (mr.AuthorId != r.User.Id && r.Store.AccessLevelOf(target, r.User) < AccessLevel.Developer) throw GitLabError.Forbidden();
            foreach (var n in discussion.Notes)
            {
                n.Resolved = resolved;
                n.ResolvedById = resolved ? r.User.Id : null;
                n.ResolvedAt = resolved ? r.Store.Now : null;
            }
            mr.UpdatedAt = r.Store.Now;
            return GitLabEndpoint.Json(r.Service<Views>().Discussion(discussion, mr));
        });

        app.MapGitLab("GET", One + "/approvals", r => GitLabEndpoint.Json(r.Service<Views>().Approvals(Find(r).Mr)));
        // The project's approval settings (GitLab Premium's /projects/:id/approvals), the part the sandbox models.
        app.MapGitLab("GET", "/projects/{id}/approvals", r =>
        {
            var project = r.Project();
            return GitLabEndpoint.Json(new System.Text.Json.Nodes.JsonObject
            {
                ["approvals_before_merge"] = project.ApprovalsRequired, ["reset_approvals_on_push"] = project.ResetApprovalsOnPush,
            });
        });
        app.MapGitLab("POST", "/projects/{id}/approvals", r =>
        {
            var project = r.Project();
            r.RequireAccess(project, AccessLevel.Maintainer);
            if (r.Params.Bool("reset_approvals_on_push") is { } reset) project.ResetApprovalsOnPush = reset;
            if (r.Params.Long("approvals_before_merge") is { } required) project.ApprovalsRequired = (int)required;
            // A Grape POST answers 201 unless told otherwise (ee/lib/api/project_approvals.rb is not).
            return GitLabEndpoint.Json(new System.Text.Json.Nodes.JsonObject
            {
                ["approvals_before_merge"] = project.ApprovalsRequired, ["reset_approvals_on_push"] = project.ResetApprovalsOnPush,
            }, 201);
        });
        // GitLab's order: find_merge_request_with_access(…, :approve_merge_request) (403 to one who may read but not approve),
        // check_sha_param! (409), then ApprovalService, whose refusal (the author, a second approval) is a 401.
        app.MapGitLab("POST", One + "/approve", async r =>
        {
            var (target, mr) = Find(r);
            if (r.Store.AccessLevelOf(target, r.User) < AccessLevel.Developer) throw GitLabError.Forbidden();
            var head = (await r.Service<MergeRequestService>().EvaluateAsync(mr)).Sha;
            if (r.Params.String("sha") is { } sha && sha != head)
                throw GitLabError.Conflict($"SHA does not match HEAD of source branch: {head}");
            if (mr.AuthorId == r.User.Id || mr.ApprovedBy.Contains(r.User.Id)) throw GitLabError.Unauthorized();
            mr.ApprovedBy.Add(r.User.Id);
            mr.UpdatedAt = r.Store.Now;
            await r.Service<MergeRequestService>().NotifyChangedAsync(mr, "approved", r.User);
            return GitLabEndpoint.Json(r.Service<Views>().Approvals(mr), 201);
        });
        app.MapGitLab("POST", One + "/unapprove", r =>
        {
            var (_, mr) = Find(r);
            if (!mr.ApprovedBy.Remove(r.User.Id)) throw GitLabError.NotFound("Approval");
            return GitLabEndpoint.Json(r.Service<Views>().Approvals(mr), 201);
        });

        // GitLab's diff versions, newest first, paginated (GET /projects/:id/merge_requests/:iid/versions).
        app.MapGitLab("GET", One + "/versions", r =>
        {
            var (_, mr) = Find(r);
            return GitLabEndpoint.List(r, [.. Enumerable.Reverse(mr.Versions).Select(v => (JsonNode)new JsonObject
            {
                ["id"] = v.Id, ["head_commit_sha"] = v.HeadCommitSha, ["base_commit_sha"] = v.BaseCommitSha,
                ["start_commit_sha"] = v.StartCommitSha, ["created_at"] = Views.Time(v.CreatedAt), ["merge_request_id"] = mr.Id,
                ["state"] = "collected", ["real_size"] = v.RealSize?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            })]);
        });

        app.MapGitLab("PUT", One + "/rebase", r =>
        {
            var (_, mr) = Find(r);
            r.Service<MergeRequestService>().StartRebase(mr, r.User, PushOptions.SkippingCi(r.Params.Bool("skip_ci") ?? false));
            return GitLabEndpoint.Json(new JsonObject { ["rebase_in_progress"] = true }, 202);
        });

        app.MapGitLab("PUT", One + "/merge", async r =>
        {
            var (_, mr) = Find(r);
            // The merge call's squash, when given, is the MR's choice from then on (GitLab updates the MR before merging).
            if (r.Params.Bool("squash") is { } squash) mr.Squash = squash;
            await r.Service<MergeRequestService>().MergeAsync(mr, r.User, r.Params.String("sha"),
                r.Params.Bool("should_remove_source_branch"), r.Params.String("merge_commit_message"), r.Params.String("squash_commit_message"));
            return GitLabEndpoint.Json(await View(r, mr, false));
        });
    }

    private static async Task<IResult> Create(GitLabRequest r)
    {
        var source = r.Project();
        var sourceBranch = r.Params.RequiredString("source_branch");
        var targetBranch = r.Params.RequiredString("target_branch");
        var title = r.Params.RequiredString("title");
        var target = r.Params.Long("target_project_id") is { } tid && tid != source.Id
            ? r.Store.FindProject(tid.ToString(), r.User)
            : source;
        if (r.Store.AccessLevelOf(source, r.User) < AccessLevel.Developer) throw GitLabError.Forbidden();
        // GitLab's handle_merge_request_errors!: branch_conflict and validate_fork answer 422,
        // validate_branches (missing branches, a duplicate open MR) answers 409.
        if (target.Id != source.Id && source.ForkedFromId != target.Id)
            throw Rejected(422, "Source project is not a fork of the target project");
        if (target.Id == source.Id && sourceBranch == targetBranch)
            throw Rejected(422, "You can't use same project/branch for source and target");
        if (await r.Store.Repo(source).BranchHeadAsync(sourceBranch) is null)
            throw Rejected(409, $"Source branch \"{sourceBranch}\" does not exist");
        if (await r.Store.Repo(target).BranchHeadAsync(targetBranch) is null)
            throw Rejected(409, $"Target branch \"{targetBranch}\" does not exist");
        if (r.Store.MergeRequests.FirstOrDefault(m => m.State == "opened" && m.SourceProjectId == source.Id && m.SourceBranch == sourceBranch
                && m.TargetProjectId == target.Id && m.TargetBranch == targetBranch) is { } existing)
            throw Rejected(409, $"Another open merge request already exists for this source branch: !{existing.Iid}");
        var mr = new MergeRequest
        {
            Id = r.Store.NewId(), Iid = target.NextMergeRequestIid++, TargetProjectId = target.Id, SourceProjectId = source.Id,
            SourceBranch = sourceBranch, TargetBranch = targetBranch, Title = title, AuthorId = r.User.Id, CreatedAt = r.Store.Now,
            UpdatedAt = r.Store.Now, CheckingUntil = r.Store.Now + r.Store.Options.MergeCheckDuration,
        };
        // As GitLab: without an explicit choice, an MR squashes when its project encourages or requires it.
        mr.Squash = target.SquashOption is "default_on" or "always";
        ApplyEditable(r, mr, r.Store.CanAdminMergeRequests(target, r.User));
        if (r.Params.Bool("draft") == true) mr.Title = DraftTitle.Mark(mr.Title);
        r.Store.MergeRequests.Add(mr);
        await r.Service<MergeRequestService>().AddVersionAsync(mr, (await r.Store.Repo(source).BranchHeadAsync(sourceBranch))!);
        // Creation records its labels as events, but GitLab writes no assignee or reviewer note for it (is_update: false).
        MergeRequestActivity.LabelsChanged(r.Store, mr, r.User, []);
        // Opening changes every attribute from nothing, and GitLab lists them so.
        JsonObject FromNothing(JsonNode? current) => new() { ["previous"] = null, ["current"] = current };
        var opened = new JsonObject
        {
            ["title"] = FromNothing(mr.Title), ["draft"] = FromNothing(mr.IsDraft),
            ["labels"] = Change(new JsonArray(), LabelList(mr.Labels)),
            ["updated_by_id"] = FromNothing(r.User.Id), ["last_edited_at"] = FromNothing(Views.Time(mr.CreatedAt)),
            ["last_edited_by_id"] = FromNothing(r.User.Id), ["updated_at"] = FromNothing(Views.Time(mr.UpdatedAt)),
        };
        await (r.Service<MergeRequestService>().MergeRequestChanged?.Invoke(mr, "open", r.User, null, opened) ?? Task.CompletedTask);
        return GitLabEndpoint.Json(await View(r, mr, false), 201);
    }

    private static async Task<IResult> List(GitLabRequest r)
    {
        var project = r.Project();
        var p = r.Params;
        var state = p.String("state") ?? "all";
        var labels = p.List("labels");
        var assignee = p.String("assignee_id");
        var assigneeUser = p.String("assignee_username");
        var iids = p.Longs("iids");
        var query = r.Store.MergeRequests.Where(m => m.TargetProjectId == project.Id)
            .Where(m => state == "all" || m.State == state)
            .Where(m => p.String("source_branch") is not { } sb || m.SourceBranch == sb)
            .Where(m => p.String("target_branch") is not { } tb || m.TargetBranch == tb)
            .Where(m => p.Long("author_id") is not { } a || m.AuthorId == a)
            .Where(m => iids is null || iids.Contains(m.Iid))
            .Where(m => p.String("wip") is not { } wip || m.IsDraft == (wip == "yes"))
            .Where(m => assignee switch
            {
                null => true,
                "None" or "none" => m.AssigneeIds.Count == 0,
                "Any" or "any" => m.AssigneeIds.Count > 0,
                _ => long.TryParse(assignee, out var id) ? m.AssigneeIds.Contains(id) : throw GitLabError.Invalid("assignee_id"),
            })
            .Where(m => assigneeUser is null || m.AssigneeIds.Any(id => r.Store.Users.GetValueOrDefault(id)?.Username == assigneeUser))
            .Where(m => labels switch
            {
                null => true,
                [var only] when only.Equals("None", StringComparison.OrdinalIgnoreCase) => m.Labels.Count == 0,
                [var only] when only.Equals("Any", StringComparison.OrdinalIgnoreCase) => m.Labels.Count > 0,
                _ => labels.All(m.Labels.Contains),
            });
        Func<MergeRequest, DateTimeOffset> key = p.String("order_by") == "updated_at" ? m => m.UpdatedAt : m => m.CreatedAt;
        var ordered = (p.String("sort") == "asc" ? query.OrderBy(key).ThenBy(m => m.Id) : query.OrderByDescending(key).ThenByDescending(m => m.Id)).ToList();
        var page = Paging.Page(r.Context, p, ordered);
        var views = new JsonArray();
        foreach (var mr in page) views.Add(await View(r, mr, false));
        return GitLabEndpoint.Json(views);
    }

    private static async Task<IResult> Update(GitLabRequest r)
    {
        var (target, mr) = Find(r);
        if (mr.AuthorId != r.User.Id && r.Store.AccessLevelOf(target, r.User) < AccessLevel.Developer) throw GitLabError.Forbidden();
        var mayAdmin = r.Store.CanAdminMergeRequests(target, r.User);
        // Nothing left once GitLab has filtered what this user may not set: nothing is saved, no hook fires.
        if (!Editable.Concat(mayAdmin ? Metadata : []).Any(r.Params.Has)) return GitLabEndpoint.Json(await View(r, mr, false));
        var before = (mr.State, mr.IsDraft, Labels: mr.Labels.ToList(), Assignees: mr.AssigneeIds.ToList(), Reviewers: mr.ReviewerIds.ToList());
        ApplyEditable(r, mr, mayAdmin);
        if (r.Params.String("target_branch") is { } tb)
        {
            if (await r.Store.Repo(target).BranchHeadAsync(tb) is null) throw Rejected(409, $"Target branch \"{tb}\" does not exist");
            mr.TargetBranch = tb;
            mr.CheckingUntil = r.Store.Now + r.Store.Options.MergeCheckDuration;
        }
        if (r.Params.Bool("draft") is { } draft) mr.Title = draft ? DraftTitle.Mark(mr.Title) : DraftTitle.Strip(mr.Title);
        switch (r.Params.String("state_event"))
        {
            case null:
                break;
            case "close" when mr.State == "opened":
                mr.State = "closed";
                mr.ClosedAt = r.Store.Now;
                mr.ClosedById = r.User.Id;
                break;
            case "reopen" when mr.State == "closed":
                mr.State = "opened";
                mr.ClosedAt = null;
                mr.ClosedById = null;
                mr.CheckingUntil = r.Store.Now + r.Store.Options.MergeCheckDuration;
                break;
            case "close" or "reopen":
                break; // GitLab ignores a transition that does not apply
            default:
                throw GitLabError.Invalid("state_event");
        }
        mr.UpdatedAt = r.Store.Now;
        var action = before.State != mr.State ? (mr.State == "closed" ? "close" : "reopen") : "update";
        MergeRequestActivity.AssigneesChanged(r.Store, mr, r.User, before.Assignees);
        MergeRequestActivity.ReviewersChanged(r.Store, mr, r.User, before.Reviewers);
        MergeRequestActivity.LabelsChanged(r.Store, mr, r.User, before.Labels);
        // The hook renders labels and people as GitLab's full objects; here they are titles and user ids.
        var changes = new JsonObject();
        if (before.IsDraft != mr.IsDraft) changes["draft"] = new JsonObject { ["previous"] = before.IsDraft, ["current"] = mr.IsDraft };
        if (!before.Labels.SequenceEqual(mr.Labels)) changes["labels"] = Change(LabelList(before.Labels), LabelList(mr.Labels));
        if (!before.Assignees.SequenceEqual(mr.AssigneeIds)) changes["assignees"] = Change(Ids(before.Assignees), Ids(mr.AssigneeIds));
        if (!before.Reviewers.SequenceEqual(mr.ReviewerIds)) changes["reviewers"] = Change(Ids(before.Reviewers), Ids(mr.ReviewerIds));
        changes["updated_by_id"] = new JsonObject { ["previous"] = null, ["current"] = r.User.Id };
        await (r.Service<MergeRequestService>().MergeRequestChanged?.Invoke(mr, action, r.User, null, changes) ?? Task.CompletedTask);
        return GitLabEndpoint.Json(await View(r, mr, false));
    }

    private static JsonObject Change(JsonNode previous, JsonNode current) => new() { ["previous"] = previous, ["current"] = current };

    private static JsonArray LabelList(IEnumerable<string> titles) => new([.. titles.Select(l => (JsonNode?)new JsonObject { ["title"] = l })]);

    private static JsonArray Ids(IEnumerable<long> ids) => new([.. ids.Select(id => (JsonNode?)id)]);

    // What an update may carry; the metadata only from Developers and more of the target project.
    private static readonly string[] Editable =
        ["title", "description", "target_branch", "draft", "state_event", "remove_source_branch", "allow_collaboration", "allow_maintainer_to_push", "squash"];
    private static readonly string[] Metadata =
        ["assignee_id", "assignee_ids", "reviewer_ids", "labels", "add_labels", "remove_labels", "discussion_locked"];

    /// <summary>
    /// GitLab's IssuableBaseService#filter_params: without <c>admin_merge_request</c> on the target project (an author who
    /// is a Guest, a Reporter or not a member, as a fork's contributor) assignees, reviewers, labels and the discussion lock
    /// are silently dropped; title, description and the rest still apply.
    /// </summary>
    private static void ApplyEditable(GitLabRequest r, MergeRequest mr, bool mayAdmin)
    {
        var p = r.Params;
        if (p.String("title") is { Length: > 0 } title) mr.Title = title;
        if (p.String("description") is { } description) mr.Description = description;
        if (p.Bool("remove_source_branch") is { } rsb) mr.ForceRemoveSourceBranch = rsb;
        if ((p.Bool("allow_collaboration") ?? p.Bool("allow_maintainer_to_push")) is { } collab) mr.AllowCollaboration = collab;
        if (p.Bool("squash") is { } squash) mr.Squash = squash;
        if (mayAdmin) ApplyMetadata(r, mr);
    }

    private static void ApplyMetadata(GitLabRequest r, MergeRequest mr)
    {
        var p = r.Params;
        if (p.Bool("discussion_locked") is { } locked) mr.DiscussionLocked = locked;
        if (p.Longs("assignee_ids") is { } ids) mr.AssigneeIds = [.. ids.Where(id => id != 0).Select(id => r.Store.UserById(id).Id).Distinct()];
        else if (p.Has("assignee_id")) mr.AssigneeIds = p.Long("assignee_id") is { } one and not 0 ? [r.Store.UserById(one).Id] : [];
        if (p.Longs("reviewer_ids") is { } reviewers) mr.ReviewerIds = [.. reviewers.Select(id => r.Store.UserById(id).Id).Distinct()];
        if (p.List("labels") is { } labels) mr.Labels = [.. labels.Distinct()];
        if (p.List("add_labels") is { } add) mr.Labels = [.. mr.Labels.Union(add)];
        if (p.List("remove_labels") is { } remove) mr.Labels = [.. mr.Labels.Except(remove)];
    }

    private static async Task<JsonObject> View(GitLabRequest r, MergeRequest mr, bool includeRebaseInProgress)
    {
        var m = await r.Service<MergeRequestService>().EvaluateAsync(mr);
        var view = r.Service<Views>().MergeRequest(mr, m, includeRebaseInProgress);
        view["user"] = new JsonObject { ["can_merge"] = r.Store.CanMergeInto(r.Store.ProjectById(mr.TargetProjectId), mr.TargetBranch, r.User) };
        return view;
    }

    internal static (Project Target, MergeRequest Mr) Find(GitLabRequest r)
    {
        var project = r.Project();
        var iid = r.RouteLong("iid", "Merge Request");
        var mr = r.Store.MergeRequests.FirstOrDefault(m => m.TargetProjectId == project.Id && m.Iid == iid)
            ?? throw GitLabError.NotFound("Merge Request");
        return (project, mr);
    }

    private static Discussion FindDiscussion(GitLabRequest r, MergeRequest mr) =>
        mr.Discussions.FirstOrDefault(d => d.Id == r.Route("discussionId")) ?? throw GitLabError.NotFound("Discussion");

    private static Discussion AddDiscussion(GitLabRequest r, MergeRequest mr, string body, bool resolvable)
    {
        var discussion = new Discussion { Id = Convert.ToHexString(RandomNumberGenerator.GetBytes(20)).ToLowerInvariant(), IndividualNote = !resolvable };
        discussion.Notes.Add(NewNote(r, body, resolvable));
        mr.Discussions.Add(discussion);
        mr.UpdatedAt = r.Store.Now;
        return discussion;
    }

    private static Note NewNote(GitLabRequest r, string body, bool resolvable) => new()
    {
        Id = r.Store.NewId(), Body = body, AuthorId = r.User.Id, CreatedAt = r.Store.Now, UpdatedAt = r.Store.Now, Resolvable = resolvable,
    };

    private static GitLabError Rejected(int status, string message) => new(status, new JsonObject { ["message"] = new JsonArray(message) });
}
