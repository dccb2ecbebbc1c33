using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Domain;

namespace Orchestrator.Api.Http;

/// <summary>RFC 7807 answers, with a type URI per kind of problem so bots can branch on it.</summary>
public static class Problems
{
    private const string TypeBase = "https://orchestrator.invalid/problems/";

    public static ProblemHttpResult BadRequest(string title, string detail) => Make(StatusCodes.Status400BadRequest, "bad-request", title, detail);

    public static ProblemHttpResult NotFound(string detail) => Make(StatusCodes.Status404NotFound, "not-found", "Not found", detail);

    public static ProblemHttpResult From(Rejection rejection) => rejection.Kind switch
    {
        RejectionKind.InvalidInput => Make(StatusCodes.Status422UnprocessableEntity, "invalid-input", "Inconsistent input", rejection.Reason),
        RejectionKind.Conflict => Make(StatusCodes.Status409Conflict, "conflict", "Conflicts with the recorded workflow", rejection.Reason),
        _ => Make(StatusCodes.Status409Conflict, "invalid-state", "Not possible in the workflow's current state", rejection.Reason),
    };

    public static ProblemHttpResult Make(int status, string type, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeBase + type);
}
