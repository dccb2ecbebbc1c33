using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace Orchestrator.IntegrationTests.Api.Rest;

public static class ProblemAssert
{
    /// <summary>The answer is <paramref name="expected"/> as RFC 7807 problem+json, with its status and a title.</summary>
    public static async Task<JsonElement> Is(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        return await Is(response);
    }

    /// <summary>The answer is problem+json whose status matches the response's.</summary>
    public static async Task<JsonElement> Is(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }
}
