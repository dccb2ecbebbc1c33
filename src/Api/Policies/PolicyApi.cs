using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Api.Http;
using Orchestrator.Domain;
using Orchestrator.Workflow;

namespace Orchestrator.Api.Policies;

public static class PolicyApi
{
    public static IEndpointRouteBuilder MapPolicyApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/projects/{projectId}/policy").WithTags("Policy");
        group.MapGet("/", Get).WithName("GetPolicy");
        group.MapPut("/", Put).WithName("PutPolicy");
        return app;
    }

    private static async Task<Results<Ok<ProjectPolicy>, ProblemHttpResult>> Get(string projectId, PolicyStore policies, CancellationToken ct)
    {
        if (!long.TryParse(projectId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
            return Problems.BadRequest("Invalid project", $"project '{projectId}' must be a positive number");
        return TypedResults.Ok(await policies.GetAsync(id, ct));
    }

    private static async Task<Results<Ok<ProjectPolicy>, ProblemHttpResult>> Put(string projectId, HttpRequest request, PolicyStore policies, CancellationToken ct)
    {
        if (!long.TryParse(projectId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
            return Problems.BadRequest("Invalid project", $"project '{projectId}' must be a positive number");
        var (policy, problem) = await JsonBody.ReadOptionalAsync<ProjectPolicy>(request, ct);
        if (problem is not null) return problem;
        if (policy is null) return Problems.BadRequest("Missing policy", "send the policy as a JSON body");
        var errors = policy.Validate();
        if (errors.Count > 0) return Problems.Make(StatusCodes.Status422UnprocessableEntity, "invalid-policy", "Invalid policy", string.Join("; ", errors));
        await policies.SaveAsync(id, policy, ct);
        return TypedResults.Ok(policy);
    }
}
