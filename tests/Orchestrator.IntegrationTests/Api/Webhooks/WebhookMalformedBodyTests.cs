using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Api.Webhooks.WebhookFixtures;

namespace Orchestrator.IntegrationTests.Api.Webhooks;

/// <summary>Bodies no GitLab sends: a problem (never a 500), nothing recorded, and nothing learnt before the token is checked.</summary>
public sealed class WebhookMalformedBodyTests(WebhookIntakeHarness intake) : IClassFixture<WebhookIntakeHarness>
{
    private static HttpRequestMessage Raw(byte[] body, string token = OrchestratorApiFactory.WebhookSecret)
    {
        var request = Delivery("Merge Request Hook", "", token);
        request.Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
        return request;
    }

    private static string MergeRequestWith(string field, string json) =>
        Consistent("merge_request.open.json").ToJsonString().Replace($"\"{field}\":", $"\"{field}\":{json},\"was_{field}\":", StringComparison.Ordinal);

    [Theory]
    [InlineData("[1, 2]", "$: expected an object")]
    [InlineData("\"merge_request\"", "$: expected an object")]
    [InlineData("{\"project\": [14]}", "$.project: expected an object")]
    [InlineData("{\"project\": {\"id\": \"14\"}}", "$.project.id: expected a positive integer id")]
    [InlineData("{\"object_kind\": \"merge_request\"}", "$.project")]
    public async Task Given_a_body_without_a_well_typed_project_When_delivered_Then_a_400_names_the_field(string body, string detail) =>
        await intake.AssertRefusedAsync(Raw(Encoding.UTF8.GetBytes(body)), HttpStatusCode.BadRequest, detail);

    [Theory]
    [InlineData("assignees", "{}", "$.assignees: expected an array of objects")]
    [InlineData("assignees", "[\"user1\"]", "$.assignees[0]: expected an object")]
    [InlineData("changes", "[]", "$.changes: expected an object")]
    [InlineData("labels", "[{\"title\": 5}]", "$.labels[0].title: expected a string")]
    [InlineData("user", "{\"id\": 1, \"username\": \"\\ud800\"}", "$.user.username: expected valid text")]
    public async Task Given_a_mistyped_field_When_delivered_signed_Then_a_400_names_it(string field, string json, string detail) =>
        await intake.AssertRefusedAsync(Raw(Encoding.UTF8.GetBytes(MergeRequestWith(field, json))), HttpStatusCode.BadRequest, detail);

    [Fact]
    public async Task Given_a_mistyped_field_When_delivered_without_the_right_token_Then_only_the_token_is_answered() =>
        await intake.AssertRefusedAsync(Raw(Encoding.UTF8.GetBytes(MergeRequestWith("assignees", "{}")), "wrong"), HttpStatusCode.Unauthorized);

    [Fact]
    public async Task Given_nesting_deeper_than_64_When_delivered_Then_a_400()
    {
        var deep = "{\"project\": {\"id\": 14}, \"x\": " + new string('[', 200) + new string(']', 200) + "}";
        await intake.AssertRefusedAsync(Raw(Encoding.UTF8.GetBytes(deep)), HttpStatusCode.BadRequest, "depth");
    }

    [Fact]
    public async Task Given_invalid_utf8_inside_a_string_When_delivered_Then_a_400()
    {
        var body = Encoding.UTF8.GetBytes(Consistent("merge_request.open.json").ToJsonString().Replace("\"root\"", "\"r@@t\"")).ToArray();
        var at = Array.IndexOf(body, (byte)'@');
        body[at] = 0xC3;
        body[at + 1] = 0x28;
        await intake.AssertRefusedAsync(Raw(body), HttpStatusCode.BadRequest, "not valid UTF-8");
    }

    [Fact]
    public async Task Given_a_chunked_body_over_the_limit_When_delivered_Then_a_413()
    {
        var request = Raw([]);
        var huge = Encoding.UTF8.GetBytes("{\"padding\": \"" + new string('x', 100_000) + "\"}");
        // No Content-Length: only reading the body can find it too large.
        request.Content = new StreamContent(new MemoryStream(huge)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
        request.Headers.TransferEncodingChunked = true;
        await intake.AssertRefusedAsync(request, HttpStatusCode.RequestEntityTooLarge);
    }
}
