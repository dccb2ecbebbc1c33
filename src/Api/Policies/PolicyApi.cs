using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Adapters;
using Orchestrator.Api.Http;
using Orchestrator.Api.Security;
using Orchestrator.Domain;
using Orchestrator.Workflow;

namespace Orchestrator.Api.Policies;

public static class PolicyApi
{
    public static IEndpointRouteBuilder MapPolicyApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/projects/{projectId}/policy").WithTags("Policy");
        group.MapGet("/", Get).WithName("GetPolicy").RequireScope("read");
        group.MapPut("/", Put).WithName("PutPolicy").RequireScope("admin");
        return app;
    }

    /// <summary>The stored (or configured) policy; with <c>suggested=true</c>, the one derived from the project's CI configuration.</summary>
    private static async Task<Results<Ok<ProjectPolicy>, ProblemHttpResult>> Get(HttpContext http, PolicyStore policies,
        PolicySuggester suggester, bool? suggested, CancellationToken ct) =>
        suggested == true ? await SuggestedPolicy.GetAsync(http, suggester) : TypedResults.Ok(await policies.GetAsync(http.Project(), ct));

    private static async Task<Results<Ok<ProjectPolicy>, ProblemHttpResult>> Put(HttpContext http, PolicyStore policies, CancellationToken ct)
    {
        var id = http.Project();
        var (policy, problem) = await JsonBody.ReadOptionalAsync<ProjectPolicy>(http.Request, ct);
        if (problem is not null) return problem;
        if (policy is null) return Problems.BadRequest("Missing policy", "send the policy as a JSON body");
        if (Unfit(policy) is { } field) return Problems.BadRequest("Invalid policy", $"{field} may hold neither null nor control characters");
        var errors = policy.Validate().ToList();
        // Approving in other people's names uses GitLab's administrator token: the operator's choice, made in configuration.
        if (policy.ApprovalsResetOnPush == ApprovalsResetOnPush.Reapprove)
            errors.Add("approvalsResetOnPush reapprove acts with GitLab's administrator token, so only the orchestrator's operator can choose it " +
                "(Orchestrator:Policies in its configuration), not the API");
        if (errors.Count > 0) return Problems.Make(StatusCodes.Status422UnprocessableEntity, "invalid-policy", "Invalid policy", string.Join("; ", errors));
        await policies.SaveAsync(id, policy, ct);
        return TypedResults.Ok(policy);
    }

    // JSON null binds into lists and strings the record declares non-null, and jsonb refuses NUL and lone surrogates:
    // either would fail later, in Validate, in PostgreSQL or in the workflow, as a 500.
    private static string? Unfit(ProjectPolicy policy)
    {
        static bool Bad(string? text) => text is not null && !RequestText.Printable(text);
        if (Bad(policy.UpstreamRepo)) return "upstreamRepo";
        if (Bad(policy.TriggerLabel)) return "triggerLabel";
        if (Bad(policy.MergeOrder)) return "mergeOrder";
        if (policy.AllowedCommanders.Any(c => c is null || Bad(c))) return "allowedCommanders";
        if (policy.Images.Any(i => i is null || Bad(i.Name) || Bad(i.TagFile) || Bad(i.TagKey))) return "images";
        return policy.Images.Any(i => i.Inputs?.Any(p => p is null || Bad(p)) == true) ? "images[].inputs" : null;
    }
}
