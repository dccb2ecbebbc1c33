using Npgsql;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orchestrator.Hosting;
using Orchestrator.Telemetry;

namespace Orchestrator.Silo;

public static class OrchestratorTelemetryHosting
{
    /// <summary>Traces and metrics from ASP.NET Core, HttpClient, Npgsql, Orleans and the project; exporter by setting.</summary>
    public static WebApplicationBuilder AddOrchestratorTelemetry(this WebApplicationBuilder builder, TelemetryOptions options)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("orchestrator"))
            .WithMetrics(m => m
                .AddMeter(OrchestratorTelemetry.Name, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation());
        // Spans only when something exports them: recording every request's spans (ASP.NET Core, each grain call,
        // each Npgsql command) only to drop them cost the webhook intake a good share of its CPU.
        if (options.Exporter is "console" or "otlp")
            otel.WithTracing(t => t
                .AddSource(OrchestratorTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddNpgsql());
        switch (options.Exporter)
        {
            case "console":
                otel.WithTracing(t => t.AddConsoleExporter()).WithMetrics(m => m.AddConsoleExporter());
                break;
            case "otlp":
                var endpoint = new Uri(options.OtlpEndpoint!);
                otel.WithTracing(t => t.AddOtlpExporter(o => o.Endpoint = endpoint))
                    .WithMetrics(m => m.AddOtlpExporter(o => o.Endpoint = endpoint))
                    .WithLogging(l => l.AddOtlpExporter(o => o.Endpoint = endpoint));
                break;
        }
        return builder;
    }
}
