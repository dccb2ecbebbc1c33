using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using Orchestrator.Api;
using Orchestrator.Api.Http;
using Orchestrator.Hosting;

namespace Orchestrator.Silo;

public static class OrchestratorHost
{
    /// <summary>One process: the Orleans silo, the HTTP API, and telemetry, all from the Orchestrator settings.</summary>
    public static WebApplicationBuilder AddOrchestratorHost(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(OrchestratorOptions.Section).Get<OrchestratorOptions>() ?? new();
        builder.WebHost.UseUrls(settings.Http.Urls.Split(';'));
        builder.UseOrleans(silo =>
        {
            if (settings.Cluster.Membership == "postgres")
                silo.UsePostgresClustering(settings.Cluster);
            else
                silo.UseLocalhostClustering(settings.Cluster.SiloPort, settings.Cluster.GatewayPort,
                    serviceId: settings.Cluster.ServiceId, clusterId: settings.Cluster.ClusterId);
            silo.AddActivityPropagation();
            silo.AddOrchestrator(builder.Configuration);
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddOrchestratorApi();
        builder.AddOrchestratorTelemetry(settings.Telemetry);
        return builder;
    }

    /// <summary>Every error leaves as problem+json: unknown routes, oversized bodies, unexpected exceptions.</summary>
    public static WebApplication UseOrchestratorErrors(this WebApplication app)
    {
        RequestDelegate errors = async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var result = error is BadHttpRequestException bad
                ? Problems.Make(bad.StatusCode, "bad-request", "Bad request", bad.Message)
                : Problems.Make(StatusCodes.Status500InternalServerError, "internal", "Internal error",
                    "the orchestrator failed to handle this request; nothing was recorded unless the events say so");
            await result.ExecuteAsync(context);
        };
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = errors,
            // A client that sent a malformed or truncated request (one that hung up mid-body) is answered 4xx, not logged
            // as the orchestrator's own failure.
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException,
        });
        app.UseStatusCodePages();
        app.UseRequestBodyLimit(app.Services.GetRequiredService<IOptions<OrchestratorOptions>>().Value.Http.MaxRequestBodyBytes);
        return app;
    }
}
