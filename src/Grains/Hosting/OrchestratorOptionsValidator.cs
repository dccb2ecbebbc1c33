using Microsoft.Extensions.Options;

namespace Orchestrator.Hosting;

/// <summary>Checks the settings at start-up and names the bad key, so a typo fails fast and plainly.</summary>
public sealed class OrchestratorOptionsValidator : IValidateOptions<OrchestratorOptions>
{
    private static readonly string[] Scopes = ["read", "merge", "admin"];
    private static readonly string[] Exporters = ["none", "console", "otlp"];

    public ValidateOptionsResult Validate(string? name, OrchestratorOptions o)
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string message)
        {
            if (!ok) errors.Add($"{OrchestratorOptions.Section}:{key} {message}");
        }

        Check(!string.IsNullOrWhiteSpace(o.Postgres.ConnectionString), "Postgres:ConnectionString", "is required");
        Check(Persistence.PostgresSchema.IsValidName(o.Postgres.Schema), "Postgres:Schema", $"must be {Persistence.PostgresSchema.NameRule}");
        Check(o.Postgres.JournalWriters is >= 1 and <= 16, "Postgres:JournalWriters", "must be between 1 and 16");
        Check(o.Postgres.JournalLinger >= TimeSpan.Zero && o.Postgres.JournalLinger <= TimeSpan.FromMilliseconds(100), "Postgres:JournalLinger",
            "must be between 0 and 100 ms: every delivery waits for it");
        if (!string.IsNullOrEmpty(o.GitLab.BaseUrl))
        {
            Check(IsHttpUrl(o.GitLab.BaseUrl), "GitLab:BaseUrl", "must be an absolute http(s) URL");
            Check(!string.IsNullOrWhiteSpace(o.GitLab.BotToken), "GitLab:BotToken", "is required when GitLab:BaseUrl is set");
        }
        Check(!string.IsNullOrWhiteSpace(o.GitLab.BotUsername), "GitLab:BotUsername", "is required");
        var admin = !string.IsNullOrEmpty(o.GitLab.AdminToken);
        if (admin)
        {
            Check(!string.IsNullOrWhiteSpace(o.GitLab.AdminToken) && o.GitLab.AdminToken == o.GitLab.AdminToken!.Trim(), "GitLab:AdminToken",
                "must be a token, without surrounding spaces");
            // The bot's own calls never carry sudo: one token for both would make every call of the bot an administrator's.
            Check(o.GitLab.AdminToken != o.GitLab.BotToken, "GitLab:AdminToken", "must not be the bot's token (GitLab:BotToken): give re-approval a token of its own");
            Check(!string.IsNullOrEmpty(o.GitLab.BaseUrl), "GitLab:AdminToken", "is set but GitLab:BaseUrl is not");
        }
        Check(o.Http.Urls.Split(';').All(IsHttpUrl), "Http:Urls", "must be absolute http(s) URLs separated by ';'");
        Check(o.Http.MaxRequestBodyBytes is > 0 and <= 64 * 1024 * 1024, "Http:MaxRequestBodyBytes", "must be between 1 byte and 64 MiB");
        Check(o.Cluster.SiloPort is > 0 and < 65536, "Cluster:SiloPort", "must be a TCP port");
        Check(o.Cluster.GatewayPort is > 0 and < 65536, "Cluster:GatewayPort", "must be a TCP port");
        Check(o.Cluster.Membership is "localhost" or "postgres", "Cluster:Membership", "must be localhost or postgres");
        Check(System.Net.IPAddress.TryParse(o.Cluster.AdvertisedAddress, out _), "Cluster:AdvertisedAddress", "must be an IP address");
        Check(Exporters.Contains(o.Telemetry.Exporter), "Telemetry:Exporter", "must be one of none, console, otlp");
        if (o.Telemetry.Exporter == "otlp")
            Check(o.Telemetry.OtlpEndpoint is { } e && IsHttpUrl(e), "Telemetry:OtlpEndpoint", "must be an absolute URL when the exporter is otlp");
        for (var i = 0; i < o.Api.Tokens.Count; i++)
        {
            var t = o.Api.Tokens[i];
            Check(!string.IsNullOrWhiteSpace(t.Name), $"Api:Tokens:{i}:Name", "is required");
            Check(t.Sha256.Length == 64 && t.Sha256.All(Uri.IsHexDigit), $"Api:Tokens:{i}:Sha256",
                "must be the 64-character hex SHA-256 of the token (the token itself is never stored)");
            Check(t.Scopes.Count > 0 && t.Scopes.All(Scopes.Contains), $"Api:Tokens:{i}:Scopes", "must list read, merge and/or admin");
            // A blank or mistyped user would make every merge of this token fail its permission check, far from the cause.
            if (t.GitLabUser is { } user)
                Check(user.Length is > 0 and <= 255 && !user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) && !user.StartsWith('@'), $"Api:Tokens:{i}:GitLabUser",
                    "must be a GitLab username (no whitespace, no leading @)");
        }
        foreach (var (project, policy) in o.Policies)
        {
            Check(long.TryParse(project, out var pid) && pid > 0, $"Policies:{project}", "must be keyed by a numeric project id");
            foreach (var problem in policy.ToPolicy().Validate()) errors.Add($"{OrchestratorOptions.Section}:Policies:{project} {problem}");
            Check(admin || policy.ApprovalsResetOnPush != Domain.ApprovalsResetOnPush.Reapprove, $"Policies:{project}:ApprovalsResetOnPush",
                "is reapprove, which needs GitLab:AdminToken: a personal access token with the sudo scope of a GitLab administrator");
        }
        Check(o.Workflow.PollInterval > TimeSpan.Zero, "Workflow:PollInterval", "must be positive");
        Check(o.Workflow.ApprovalResetWait >= TimeSpan.Zero && o.Workflow.ApprovalResetWait <= TimeSpan.FromMinutes(10), "Workflow:ApprovalResetWait",
            "must be between zero and 10 minutes");
        Check(o.Workflow.ReminderPeriod >= TimeSpan.FromSeconds(1), "Workflow:ReminderPeriod", "must be at least a second");
        Check(o.Workflow.ResumeRate >= 0 && double.IsFinite(o.Workflow.ResumeRate), "Workflow:ResumeRate", "must be zero (off) or a positive number of wake-ups per second");
        if (!string.IsNullOrEmpty(o.GitLab.BaseUrl))
            Check(o.Registry.Url is { } r && IsHttpUrl(r), "Registry:Url", "must be the registry's absolute http(s) URL when GitLab:BaseUrl is set");
        foreach (var (project, hook) in o.Webhooks.Projects)
        {
            // One spelling per project ("42", not "042" or "+42"): two spellings of one id would be two secrets for it.
            Check(long.TryParse(project, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
                && id.ToString(System.Globalization.CultureInfo.InvariantCulture) == project, $"Webhooks:Projects:{project}", "must be keyed by a numeric project id");
            Check(!string.IsNullOrEmpty(hook.Secret), $"Webhooks:Projects:{project}:Secret", "is required");
        }
        var shared = o.Webhooks.DefaultSecretProjects;
        if (!string.IsNullOrEmpty(o.Webhooks.DefaultSecret))
            Check(shared.Count > 0, "Webhooks:DefaultSecretProjects",
                "must list the project ids the default secret may sign for (prefer Webhooks:Projects:<id>:Secret, one secret per project)");
        else
            Check(shared.Count == 0, "Webhooks:DefaultSecretProjects", "is set but Webhooks:DefaultSecret is not");
        Check(shared.All(id => id > 0), "Webhooks:DefaultSecretProjects", "must be numeric project ids");
        foreach (var id in shared.Where(id => o.Webhooks.Projects.ContainsKey(id.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            Check(false, "Webhooks:DefaultSecretProjects", $"lists project {id}, which has a secret of its own (only that one is accepted)");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
