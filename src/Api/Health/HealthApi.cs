using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;
using Orchestrator.Api.Http;

namespace Orchestrator.Api.Health;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", Check).WithName("Health").WithTags("Health");
        return app;
    }

    public sealed record HealthResponse(string Status);

    // Open to everyone on purpose (load balancers, run.sh): it reveals nothing but whether the database answers.
    private static async Task<Results<Ok<HealthResponse>, ProblemHttpResult>> Check(NpgsqlDataSource db, CancellationToken ct)
    {
        try
        {
            await using var cmd = db.CreateCommand("select 1");
            await cmd.ExecuteScalarAsync(ct);
            return TypedResults.Ok(new HealthResponse("ok"));
        }
        catch (NpgsqlException)
        {
            return Problems.Make(StatusCodes.Status503ServiceUnavailable, "unavailable", "Unavailable", "PostgreSQL does not answer");
        }
    }
}
