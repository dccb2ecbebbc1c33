extern alias sandbox;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Api.Rest;
using Orchestrator.IntegrationTests.Infrastructure;
using sandbox::Sandbox.Seed;
using Xunit;

namespace Orchestrator.IntegrationTests.Api.Policies;

/// <summary>
/// <c>GET …/policy?suggested=true</c> against the sandbox GitLab: the suggestion from the default branch's CI
/// configuration (GitLab's lint merged_yaml), 404 for a project building no image, 503 when GitLab does not answer.
/// </summary>
public sealed class SuggestedPolicyTests(SchemaFixture db, SandboxFixture sandbox)
    : IClassFixture<SchemaFixture>, IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private SandboxApi api = null!;
    private string suffix = "";

    public async Task InitializeAsync()
    {
        suffix = Guid.NewGuid().ToString("N")[..6];
        api = await SandboxApi.StartAsync(db, sandbox, suffix);
    }

    public async Task DisposeAsync() => await api.DisposeAsync();

    private async Task<long> ProjectWith(string name, IReadOnlyDictionary<string, string> files)
    {
        var id = await api.ProjectAsync($"{name}-{suffix}");
        using var owner = sandbox.Api(api.Maintainer["token"]!.GetValue<string>());
        using var response = await owner.PostAsJsonAsync($"projects/{id}/repository/commits", new
        {
            branch = "main", commit_message = "CI",
            actions = files.Select(f => new { action = "create", file_path = f.Key, content = f.Value }).ToArray(),
        });
        response.EnsureSuccessStatusCode();
        return id;
    }

    private Task<HttpResponseMessage> Suggest(long project) =>
        api.As(OrchestratorApiFactory.ReadToken).GetAsync($"/api/v1/projects/{project}/policy?suggested=true");

    [Fact]
    public async Task Given_the_seeded_incidents_ci_When_a_policy_is_suggested_Then_its_image_tag_file_inputs_and_upstream()
    {
        var project = await ProjectWith("suggest", new Dictionary<string, string>
        {
            [".gitlab-ci.yml"] = IncidentFiles.GitLabCi,
            [".gitlab-ci/image-tags.yml"] = IncidentFiles.ImageTags(IncidentFiles.BaseTag),
        });

        using var response = await Suggest(project);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = await response.Content.ReadFromJsonAsync<JsonElement>();
        var image = Assert.Single(policy.GetProperty("images").EnumerateArray());
        Assert.Equal("debian/x86_64_build", image.GetProperty("name").GetString());
        Assert.Equal(".gitlab-ci/image-tags.yml", image.GetProperty("tagFile").GetString());
        Assert.Equal("DEBIAN_BUILD_TAG", image.GetProperty("tagKey").GetString());
        Assert.Equal([".gitlab-ci/container/**"], image.GetProperty("inputs").EnumerateArray().Select(i => i.GetString()));
        Assert.Equal("mesa/mesa", policy.GetProperty("upstreamRepo").GetString());
    }

    [Fact]
    public async Task Given_a_project_building_no_image_When_a_policy_is_suggested_Then_404_problem_and_the_stored_policy_unchanged()
    {
        var project = await ProjectWith("plain", new Dictionary<string, string> { [".gitlab-ci.yml"] = "test:\n  script: [echo ok]\n" });

        using var response = await Suggest(project);
        var stored = await api.As(OrchestratorApiFactory.ReadToken).GetFromJsonAsync<JsonElement>($"/api/v1/projects/{project}/policy");

        await ProblemAssert.Is(response, HttpStatusCode.NotFound);
        Assert.Equal(0, stored.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public async Task Given_GitLab_failing_its_lint_When_a_policy_is_suggested_Then_503_problem_with_retry_after()
    {
        var project = await ProjectWith("lintfail", new Dictionary<string, string> { [".gitlab-ci.yml"] = IncidentFiles.GitLabCi });
        // More failures than the client's retries, so the lookup itself fails.
        await api.FailAsync($"/projects/{project}/ci/lint", count: 8);

        using var response = await Suggest(project);

        await ProblemAssert.Is(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        await api.FailAsync("^$", count: 1);
    }
}
