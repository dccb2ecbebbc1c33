using System.Text.Json.Nodes;
using Sandbox.Ci;
using Sandbox.Model;

namespace Sandbox.Http;

/// <summary>GitLab's pipeline and job JSON (docs/api/pipelines.md, jobs.md) from the sandbox's CI state.</summary>
public sealed class CiViews(SandboxStore store, Views views)
{
    private static JsonNode? Time(DateTimeOffset? t) => t is { } v ? Views.Time(v) : null;

    private static double? Seconds(DateTimeOffset? from, DateTimeOffset? to) => from is { } f && to is { } t ? Math.Round((t - f).TotalSeconds, 3) : null;

    public JsonObject PipelineBasic(Pipeline p)
    {
        var project = store.ProjectById(p.ProjectId);
        return new JsonObject
        {
            ["id"] = p.Id, ["iid"] = p.Iid, ["project_id"] = p.ProjectId, ["sha"] = p.Sha, ["ref"] = p.Ref, ["status"] = p.Status,
            ["source"] = p.Source, ["name"] = null,
            ["created_at"] = Views.Time(p.CreatedAt), ["updated_at"] = Views.Time(p.UpdatedAt),
            ["web_url"] = store.WebUrl($"{project.FullPath}/-/pipelines/{p.Id}"),
        };
    }

    public JsonObject Pipeline(Pipeline p)
    {
        var o = PipelineBasic(p);
        var project = store.ProjectById(p.ProjectId);
        o["before_sha"] = p.BeforeSha;
        o["tag"] = false;
        o["yaml_errors"] = p.YamlErrors;
        o["user"] = views.UserBasic(p.UserId);
        o["started_at"] = Time(p.StartedAt);
        o["finished_at"] = Time(p.FinishedAt);
        o["committed_at"] = null;
        o["duration"] = Seconds(p.StartedAt, p.FinishedAt) is { } d ? (int)d : null;
        o["queued_duration"] = Seconds(p.CreatedAt, p.StartedAt) is { } q ? (int)q : null;
        o["coverage"] = null;
        o["detailed_status"] = DetailedStatus(p.Status, $"/{project.FullPath}/-/pipelines/{p.Id}");
        return o;
    }

    public static JsonObject DetailedStatus(string status, string path)
    {
        var text = status switch { "success" => "passed", "canceled" => "canceled", _ => status };
        return new JsonObject
        {
            ["icon"] = $"status_{status}", ["text"] = text, ["label"] = text, ["group"] = status, ["tooltip"] = text,
            ["has_details"] = true, ["details_path"] = path, ["illustration"] = null,
            ["favicon"] = $"/assets/ci_favicons/favicon_status_{status}.png",
        };
    }

    public async Task<JsonObject> Job(Job j)
    {
        var p = j.Pipeline;
        var project = store.ProjectById(p.ProjectId);
        var commit = await store.Repo(project).CommitAsync(p.Sha);
        var user = store.UserById(j.UserId);
        var userView = views.User(user, withPrivate: false);
        return new JsonObject
        {
            ["commit"] = new JsonObject
            {
                ["author_email"] = commit.AuthorEmail, ["author_name"] = commit.AuthorName,
                ["created_at"] = commit.CommittedDate.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz"), ["id"] = commit.Id,
                ["message"] = commit.Message, ["short_id"] = commit.Id[..8], ["title"] = commit.Title,
            },
            ["coverage"] = null,
            ["archived"] = false,
            ["allow_failure"] = j.AllowFailure,
            ["created_at"] = Views.Time(j.CreatedAt),
            ["started_at"] = Time(j.StartedAt),
            ["finished_at"] = Time(j.FinishedAt),
            ["erased_at"] = null,
            ["duration"] = Seconds(j.StartedAt, j.FinishedAt),
            ["queued_duration"] = Seconds(j.CreatedAt, j.StartedAt),
            ["artifacts_expire_at"] = null,
            ["tag_list"] = new JsonArray("sandbox"),
            ["id"] = j.Id,
            ["name"] = j.Name,
            ["pipeline"] = new JsonObject { ["id"] = p.Id, ["project_id"] = p.ProjectId, ["ref"] = p.Ref, ["sha"] = p.Sha, ["status"] = p.Status },
            ["ref"] = p.Ref,
            ["artifacts"] = new JsonArray(),
            ["runner"] = new JsonObject
            {
                ["id"] = 1, ["description"] = "gitlab-sandbox runner", ["ip_address"] = "127.0.0.1", ["active"] = true, ["paused"] = false,
                ["is_shared"] = true, ["runner_type"] = "instance_type", ["name"] = "gitlab-sandbox", ["online"] = true, ["status"] = "online",
            },
            ["runner_manager"] = new JsonObject
            {
                ["id"] = 1, ["system_id"] = "s_sandbox", ["version"] = "17.0.0", ["revision"] = "sandbox", ["platform"] = "linux",
                ["architecture"] = "amd64", ["created_at"] = Views.Time(store.Now), ["contacted_at"] = Views.Time(store.Now),
                ["ip_address"] = "127.0.0.1",
            },
            ["stage"] = j.Stage,
            ["status"] = j.Status,
            ["failure_reason"] = j.FailureReason,
            ["tag"] = false,
            ["web_url"] = store.WebUrl($"{project.FullPath}/-/jobs/{j.Id}"),
            ["project"] = new JsonObject { ["ci_job_token_scope_enabled"] = false },
            ["user"] = userView,
        };
    }

    public static JsonArray Variables(Pipeline p) =>
        new([.. p.Variables.Select(v => (JsonNode?)new JsonObject { ["key"] = v.Key, ["variable_type"] = "env_var", ["value"] = v.Value })]);
}
