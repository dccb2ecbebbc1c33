namespace Orchestrator.Hosting;

/// <summary>
/// Every setting of the orchestrator, bound from the <c>Orchestrator</c> section
/// (<c>appsettings.json</c>, or environment variables such as <c>Orchestrator__Postgres__ConnectionString</c>).
/// README.md lists each key with its meaning and default.
/// </summary>
public sealed class OrchestratorOptions
{
    public const string Section = "Orchestrator";

    public GitLabOptions GitLab { get; set; } = new();
    public WebhookOptions Webhooks { get; set; } = new();
    public ApiOptions Api { get; set; } = new();
    public PostgresOptions Postgres { get; set; } = new();
    public HttpOptions Http { get; set; } = new();
    public ClusterSettings Cluster { get; set; } = new();
    public TelemetryOptions Telemetry { get; set; } = new();
    public RegistrySettings Registry { get; set; } = new();
    public WorkflowSettings Workflow { get; set; } = new();
    public GitSettings Git { get; set; } = new();
    /// <summary>Per project (numeric id as key): its policy, until <c>PUT …/policy</c> stores another.</summary>
    public Dictionary<string, PolicySettings> Policies { get; set; } = [];
}

public sealed class RegistrySettings
{
    /// <summary>The container registry GitLab fronts (e.g. https://registry.freedesktop.org); the bot's token buys access.</summary>
    public string? Url { get; set; }
}

public sealed class GitSettings
{
    /// <summary>
    /// Where the per-project mirrors live (bare repositories, one per target project). Anything in it can be deleted at
    /// any time: a missing or broken mirror is cloned again. Empty: <c>orchestrator-git</c> under the temporary folder.
    /// </summary>
    public string? MirrorRoot { get; set; }

    /// <summary>The git binary (2.38 or newer, for <c>merge-tree --write-tree</c>).</summary>
    public string Executable { get; set; } = "git";

    /// <summary>How long one git command may run before it is killed (a fetch of a large project included).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The e-mail of a <c>Reviewed-by</c> approver who shows no public e-mail: <c>{id}</c>, <c>{username}</c>, <c>{host}</c>
    /// are replaced (the default is GitLab's own no-reply form).
    /// </summary>
    public string ReviewerFallbackEmail { get; set; } = Domain.Trailers.MergeRequestTrailers.DefaultFallbackEmail;
}

public sealed class WorkflowSettings
{
    /// <summary>How often an active merge request looks at GitLab while it waits (rebase, CI, mergeability).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The durable wake-up after a restart; Orleans reminders need at least a minute unless told otherwise.</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How many active workflows per second are woken when the silo starts (instead of waiting for their reminder),
    /// so thousands do not call GitLab at once; zero turns the wake-up off.
    /// </summary>
    public double ResumeRate { get; set; } = 20;

    /// <summary>How often open merge requests assigned to the bot (or labelled) are looked up, because webhooks get lost; zero turns it off.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether a merge request's grain with nothing to do lets its activation go once a delivery or a poke is answered
    /// (its state is one batched read away). Kept, an idle activation holds memory, copied by every collection, until
    /// Orleans collects it 15 minutes later: a burst of deliveries (redeliveries after an outage) fills the silo.
    /// </summary>
    public bool ReleaseIdleGrains { get; set; } = true;

    /// <summary>
    /// After a push that removes approvals, where the policy approves again as the approvers: how long to wait for GitLab
    /// to remove them (it does so in the background, about 10 s later) while it still lists them all. Past it, those still
    /// listed are taken as kept (recent GitLab keeps approvals whose changes' patch id the push did not change); the merge's
    /// own check reads the approvals again. marge-bot's <c>--approval-reset-timeout</c>.
    /// </summary>
    public TimeSpan ApprovalResetWait { get; set; } = TimeSpan.FromSeconds(30);

}

public sealed class PolicySettings
{
    public List<ImagePolicySettings> Images { get; set; } = [];
    public string? UpstreamRepo { get; set; }
    public int RequiredApprovals { get; set; }
    public int CiTimeoutMinutes { get; set; } = 60;
    public int MaxRebases { get; set; } = 3;
    public bool AllowUnbumpedInputs { get; set; }
    public string? TriggerLabel { get; set; }
    public List<string> AllowedCommanders { get; set; } = [];
    public List<string> UnverifiedJobs { get; set; } = [];
    public string ManualJobs { get; set; } = "fail";
    public string SkippedPipelines { get; set; } = "fail";
    public int StepTimeoutMinutes { get; set; } = 30;
    public string MergeOrder { get; set; } = Domain.MergeOrder.AssignedAt;
    public List<EmbargoSettings> Embargo { get; set; } = [];
    public List<string> Trailers { get; set; } = [];
    public bool NoteOnSuccess { get; set; } = true;
    public bool UnassignOnMerge { get; set; }
    /// <summary><c>refuse</c> (the default) or <c>reapprove</c>, which needs <see cref="GitLabOptions.AdminToken"/>; see the README for its risk.</summary>
    public string ApprovalsResetOnPush { get; set; } = Domain.ApprovalsResetOnPush.Refuse;
    public TrainPolicySettings Train { get; set; } = new();

    public Domain.ProjectPolicy ToPolicy() => new(
        [.. Images.Select(i => new Domain.ImagePolicy(i.Name, i.TagFile, i.TagKey, i.Inputs, i.ForceVariable))], UpstreamRepo, RequiredApprovals,
        CiTimeoutMinutes, MaxRebases, AllowUnbumpedInputs, TriggerLabel, AllowedCommanders, UnverifiedJobs: UnverifiedJobs,
        MergeOrder: MergeOrder, ManualJobs: ManualJobs, SkippedPipelines: SkippedPipelines, StepTimeoutMinutes: StepTimeoutMinutes,
        Embargo: [.. Embargo.Select(e => new Domain.EmbargoWindow(e.From, e.To, e.TimeZone))], Trailers: Trailers,
        NoteOnSuccess: NoteOnSuccess, UnassignOnMerge: UnassignOnMerge, ApprovalsResetOnPush: ApprovalsResetOnPush,
        Train: new Domain.MergeTrainPolicy(Train.Strategy, Train.Depth, Train.MaxPipelines));
}

public sealed class TrainPolicySettings
{
    public string Strategy { get; set; } = Domain.MergeTrainPolicy.SerialStrategy;
    public int Depth { get; set; } = 4;
    public int? MaxPipelines { get; set; }
}

public sealed class EmbargoSettings
{
    public string From { get; set; } = "";
    public string To { get; set; } = "";
    public string TimeZone { get; set; } = "UTC";
}

public sealed class ImagePolicySettings
{
    public string Name { get; set; } = "";
    public string TagFile { get; set; } = "";
    public string TagKey { get; set; } = "";
    public List<string> Inputs { get; set; } = [];
    public string? ForceVariable { get; set; }
}

public sealed class GitLabOptions
{
    /// <summary>GitLab's base URL (e.g. https://gitlab.freedesktop.org). Empty: the embedded sandbox is used.</summary>
    public string? BaseUrl { get; set; }
    /// <summary>The bot user's personal access token (scope <c>api</c>). Never logged.</summary>
    public string? BotToken { get; set; }
    public string BotUsername { get; set; } = "orchestrator-bot";
    /// <summary>
    /// A GitLab administrator's personal access token with the <c>sudo</c> scope, used for one call only: approving again
    /// in an approver's name after a rewrite, where a project's policy says <c>approvalsResetOnPush: reapprove</c>. The
    /// most powerful credential GitLab has: never logged, never sent by the bot's own client. Empty: no re-approval.
    /// </summary>
    public string? AdminToken { get; set; }
}

public sealed class WebhookOptions
{
    /// <summary>
    /// A shared <c>X-Gitlab-Token</c>, accepted only for the projects in <see cref="DefaultSecretProjects"/>: whoever
    /// holds it can sign deliveries for each of them, so the list says exactly which.
    /// </summary>
    public string? DefaultSecret { get; set; }
    /// <summary>The numeric ids of the projects <see cref="DefaultSecret"/> may sign for (required with it).</summary>
    public List<long> DefaultSecretProjects { get; set; } = [];
    /// <summary>Per project (numeric id as key): its own secret, the only one accepted for that project.</summary>
    public Dictionary<string, ProjectWebhook> Projects { get; set; } = [];
    /// <summary>
    /// How long a delivery that caused no event is remembered, so its redelivery is answered as a duplicate: well beyond
    /// GitLab's automatic retries and the time its hook log offers a manual resend. Deliveries that caused events are
    /// remembered with those events, for as long as the stream.
    /// </summary>
    public TimeSpan DeliveryKeyRetention { get; set; } = TimeSpan.FromDays(30);
}

public sealed class ProjectWebhook
{
    public string? Secret { get; set; }
}

public sealed class ApiOptions
{
    /// <summary>Bearer tokens, stored as the lower-case hex SHA-256 of the token, never the token itself.</summary>
    public List<ApiToken> Tokens { get; set; } = [];
}

public sealed class ApiToken
{
    public string Name { get; set; } = "";
    public string Sha256 { get; set; } = "";
    /// <summary><c>read</c>, <c>merge</c>, <c>admin</c>.</summary>
    public List<string> Scopes { get; set; } = [];
    /// <summary>Numeric project ids this token may touch; empty means all.</summary>
    public List<long> Projects { get; set; } = [];
    /// <summary>
    /// The GitLab username this token acts for. When set, a merge asked through the API is made only if GitLab says this
    /// user may merge into the target branch; when unset, the token acts on its own authority (its scope and projects).
    /// </summary>
    public string? GitLabUser { get; set; }
}

public sealed class PostgresOptions
{
    public string ConnectionString { get; set; } = "";
    /// <summary>The schema holding the event store, reminders and the project's own tables.</summary>
    public string Schema { get; set; } = "orchestrator";

    /// <summary>How many group commits of the journal may be under way at once (each on a connection of its own); see <see cref="Persistence.BatchOptions"/>.</summary>
    public int JournalWriters { get; set; } = Persistence.BatchOptions.Default.Writers;

    /// <summary>How long a commit waits for company once its first write arrived (zero: only what already waits joins it).</summary>
    public TimeSpan JournalLinger { get; set; } = TimeSpan.Zero;
}

public sealed class HttpOptions
{
    public string Urls { get; set; } = "http://127.0.0.1:5080";
    /// <summary>Largest request body accepted, in bytes (webhook payloads included).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

public sealed class ClusterSettings
{
    public string ClusterId { get; set; } = "orchestrator";
    public string ServiceId { get; set; } = "orchestrator";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary><c>localhost</c> (one silo, the default) or <c>postgres</c> (several silos sharing the database's membership table).</summary>
    public string Membership { get; set; } = "localhost";

    /// <summary>The address other silos reach this one at (with <c>postgres</c> membership).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Notice a lost silo in seconds rather than a minute (tests, demos); production keeps Orleans' defaults.</summary>
    public bool FastFailureDetection { get; set; }
}

public sealed class TelemetryOptions
{
    /// <summary><c>none</c>, <c>console</c> or <c>otlp</c>.</summary>
    public string Exporter { get; set; } = "none";
    public string? OtlpEndpoint { get; set; }
}
