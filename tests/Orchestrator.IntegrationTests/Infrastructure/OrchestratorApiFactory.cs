using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The real silo process (Program), API and Orleans together, on a test schema and free ports; <paramref name="settings"/>
/// are applied last (e.g. a sandbox GitLab to drive).
/// </summary>
public sealed class OrchestratorApiFactory(string schema, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    public const string ReadToken = "read-token-for-tests";
    public const string MergeToken = "merge-token-for-tests";
    public const string AdminToken = "admin-token-for-tests";
    public const string Project42Token = "project-42-token-for-tests";
    public const string WebhookSecret = "webhook-secret-for-tests";
    public const string Project5Secret = "project-5-own-secret";
    public const string Bot = "user1";

    public HttpClient ClientWith(string? token)
    {
        var client = CreateClient();
        if (token is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var tokens = new (string Token, string Scopes, string? Project)[]
        {
            (ReadToken, "read", null), (MergeToken, "read,merge", null), (AdminToken, "admin", null), (Project42Token, "read,merge", "42"),
        };
        for (var i = 0; i < tokens.Length; i++)
        {
            builder.UseSetting($"Orchestrator:Api:Tokens:{i}:Name", $"token{i}");
            builder.UseSetting($"Orchestrator:Api:Tokens:{i}:Sha256", global::Orchestrator.Api.Security.ApiTokens.Hash(tokens[i].Token));
            var scopes = tokens[i].Scopes.Split(',');
            for (var j = 0; j < scopes.Length; j++) builder.UseSetting($"Orchestrator:Api:Tokens:{i}:Scopes:{j}", scopes[j]);
            if (tokens[i].Project is { } project) builder.UseSetting($"Orchestrator:Api:Tokens:{i}:Projects:0", project);
        }
        // The projects GitLab's documented payloads are about; project 5 has a secret of its own.
        foreach (var project in new[] { 1, 14, 15, 380 }) builder.UseSetting($"Orchestrator:Webhooks:Projects:{project}:Secret", WebhookSecret);
        builder.UseSetting("Orchestrator:Webhooks:Projects:5:Secret", Project5Secret);
        builder.UseSetting("Orchestrator:GitLab:BotUsername", Bot);
        builder.UseSetting("Orchestrator:Postgres:ConnectionString", TestPostgres.ConnectionString);
        builder.UseSetting("Orchestrator:Postgres:Schema", schema);
        builder.UseSetting("Orchestrator:Cluster:SiloPort", Ports.Free().ToString());
        builder.UseSetting("Orchestrator:Cluster:GatewayPort", Ports.Free().ToString());
        builder.UseSetting("Orchestrator:Http:MaxRequestBodyBytes", "65536");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) builder.UseSetting(key, value);
    }

}
