using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Health;
using Orchestrator.Api.MergeRequests;
using Orchestrator.Api.Policies;

namespace Orchestrator.Api;

public static class OrchestratorApi
{
    /// <summary>Every endpoint group of the orchestrator's HTTP API.</summary>
    public static IEndpointRouteBuilder MapOrchestratorApi(this IEndpointRouteBuilder app)
    {
        app.MapHealthApi();
        app.MapMergeRequestsApi();
        app.MapPolicyApi();
        return app;
    }
}
