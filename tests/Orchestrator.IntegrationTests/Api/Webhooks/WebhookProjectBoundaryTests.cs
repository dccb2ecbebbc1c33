using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Api.Webhooks.WebhookFixtures;

namespace Orchestrator.IntegrationTests.Api.Webhooks;

/// <summary>
/// A delivery is authenticated for one project (its <c>project.id</c>, a job's <c>project_id</c>), with that project's
/// secret, and acts on that project only: every other id naming the project must agree, or nothing is applied.
/// </summary>
public sealed class WebhookProjectBoundaryTests(WebhookIntakeHarness intake) : IClassFixture<WebhookIntakeHarness>
{
    /// <summary>The fixture, signed for its own project, with the ids at <paramref name="paths"/> naming another project.</summary>
    private static HttpRequestMessage NamingAnother(string fixture, string paths)
    {
        var payload = Consistent(fixture);
        var signer = Signer(fixture, payload);
        foreach (var path in paths.Split('+'))
        {
            var names = path.Split('.');
            var parent = names[..^1].Aggregate((JsonNode)payload, (node, name) => node[name]!);
            parent[names[^1]] = signer == 15 ? 14 : 15;
        }
        return Delivery(EventOf[fixture], payload.ToJsonString(), WebhookIntakeHarness.SecretOf(signer));
    }

    [Theory]
    [InlineData("merge_request.open.json", "object_attributes.target_project_id")]
    [InlineData("note.merge_request.json", "merge_request.target_project_id")]
    [InlineData("note.merge_request.json", "project_id")]
    [InlineData("note.merge_request.json", "object_attributes.project_id")]
    // A pipeline's merge request may name the signer as its source (a fork's pipeline, below), not neither.
    [InlineData("pipeline.json", "merge_request.target_project_id+merge_request.source_project_id")]
    [InlineData("job.json", "project.id")]
    [InlineData("push.json", "project_id")]
    public async Task Given_a_delivery_signed_for_one_project_When_it_names_another_Then_it_is_refused_and_nothing_applied(string fixture, string path)
    {
        var problem = await intake.AssertRefusedAsync(NamingAnother(fixture, path), HttpStatusCode.Forbidden, $"$.{path.Split('+')[0]} names project");
        Assert.EndsWith("/foreign-project", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Given_a_fork_merge_request_pipeline_in_the_fork_When_the_fork_reports_it_Then_it_is_accepted_and_only_the_fork_is_looked_at()
    {
        // GitLab runs a fork MR's pipeline in the fork by default; the fork's hook names the upstream as the MR's target.
        var payload = Consistent("pipeline.json");
        payload["merge_request"]!["target_project_id"] = 14;
        payload["merge_request"]!["source_project_id"] = 1;

        Assert.Equal("ignored: not a pipeline the orchestrator waits on",
            await intake.AssertAcceptedAsync(Delivery("Pipeline Hook", payload.ToJsonString(), OrchestratorApiFactory.WebhookSecret)));
    }

    private static HttpRequestMessage ForProject(long project, string token)
    {
        var payload = Consistent("merge_request.open.json");
        payload["project"]!["id"] = project;
        payload["object_attributes"]!["target_project_id"] = project;
        payload["assignees"] = new JsonArray();
        return Delivery("Merge Request Hook", payload.ToJsonString(), token);
    }

    [Fact]
    public async Task Given_the_default_secret_When_it_signs_for_a_project_not_on_its_list_Then_it_is_refused()
    {
        Assert.StartsWith("poked", await intake.AssertAcceptedAsync(ForProject(WebhookIntakeHarness.SharedProject, WebhookIntakeHarness.SharedSecret)));
        await intake.AssertRefusedAsync(ForProject(78, WebhookIntakeHarness.SharedSecret), HttpStatusCode.Forbidden, "the default secret may not sign for project 78");
        // A project with a secret of its own accepts only that one.
        await intake.AssertRefusedAsync(ForProject(14, WebhookIntakeHarness.SharedSecret), HttpStatusCode.Unauthorized);
        // Without the default secret, an unconfigured project answers as a wrong token does: nothing about it is learnt.
        await intake.AssertRefusedAsync(ForProject(78, "guess"), HttpStatusCode.Unauthorized, "does not authenticate deliveries for project 78");
    }
}
