using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Health;
using Orchestrator.Api.MergeRequests;
using Orchestrator.Api.Operations;
using Orchestrator.Api.Policies;
using Orchestrator.Api.Queues;
using Orchestrator.Api.Webhooks;

namespace Orchestrator.Api;

public static class OrchestratorApi
{
    /// <summary>The API's own services: token checks, project resolution, webhook routing, the OpenAPI document.</summary>
    public static IServiceCollection AddOrchestratorApi(this IServiceCollection services)
    {
        services.AddSingleton<Security.ApiTokens>();
        services.AddSingleton<Security.ProjectResolver>();
        services.AddSingleton<WebhookRouter>();
        services.AddSingleton<Operations.GitLabLinks>();
        services.AddOpenApi();
        return services;
    }

    /// <summary>Every endpoint group of the orchestrator's HTTP API.</summary>
    public static IEndpointRouteBuilder MapOrchestratorApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthApi();
        app.MapMergeRequestsApi();
        app.MapQueuesApi();
        app.MapPolicyApi();
        app.MapWebhookApi();
        app.MapOperationsApi();
        return app;
    }
}
