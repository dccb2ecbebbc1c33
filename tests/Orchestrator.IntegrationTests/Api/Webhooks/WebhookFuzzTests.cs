using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit;
using static Orchestrator.IntegrationTests.Api.Webhooks.WebhookFixtures;

namespace Orchestrator.IntegrationTests.Api.Webhooks;

/// <summary>
/// Every documented webhook payload, each of its fields in turn given another JSON type or an out-of-range value (or
/// removed), delivered signed as GitLab would sign it: never a 5xx, every 4xx a problem that recorded nothing, and the
/// payload as documented (ids made consistent) always a 2xx. Two mutations per field, chosen by a fixed seed.
/// </summary>
public sealed class WebhookFuzzTests(WebhookIntakeHarness intake) : IClassFixture<WebhookIntakeHarness>
{
    private const int Seed = 20240601;
    private const int MutationsPerField = 2;

    private static readonly string LongText = string.Concat(Enumerable.Repeat("Ünïcødé 🙂 עברית ", 300));

    /// <summary>Raw JSON for each mutation; null removes the field.</summary>
    private static readonly string?[] Mutations =
    [
        "{}", "[]", "\"x\"", "7", "true", "null", "1e300", "9223372036854775808", "-1", "0", "1.5",
        System.Text.Json.JsonSerializer.Serialize(LongText), null,
    ];

    /// <summary>The path of every field and array item below the top level, parents before children.</summary>
    private static IEnumerable<object[]> Paths(JsonNode? node, object[] prefix)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o)
                {
                    object[] path = [.. prefix, name];
                    yield return path;
                    foreach (var below in Paths(child, path)) yield return below;
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    object[] path = [.. prefix, i];
                    yield return path;
                    foreach (var below in Paths(a[i], path)) yield return below;
                }
                break;
        }
    }

    private static JsonNode Mutate(JsonNode original, object[] path, string? replacement)
    {
        var copy = original.DeepClone();
        var parent = path[..^1].Aggregate(copy, (node, step) => step is int i ? node[i]! : node[(string)step]!);
        var value = replacement is null ? null : JsonNode.Parse(replacement);
        switch (parent, path[^1])
        {
            case (JsonObject o, string name) when replacement is null: o.Remove(name); break;
            case (JsonObject o, string name): o[name] = value; break;
            case (JsonArray a, int i) when replacement is null: a.RemoveAt(i); break;
            case (JsonArray a, int i): a[i] = value; break;
        }
        return copy;
    }

    private static string Show(object[] path) => "$" + string.Concat(path.Select(s => s is int i ? $"[{i}]" : $".{s}"));

    [Fact]
    public async Task Given_every_documented_payload_When_each_field_is_mistyped_or_removed_Then_never_a_5xx_and_refusals_record_nothing()
    {
        var random = new Random(Seed);
        var failures = new List<string>();
        var sent = 0;
        foreach (var (fixture, eventName) in EventOf)
        {
            var payload = Consistent(fixture);
            var token = WebhookIntakeHarness.SecretOf(Signer(fixture, payload));
            var documented = await intake.SendAsync(Delivery(eventName, payload.ToJsonString(), token));
            if ((int)documented.StatusCode is < 200 or >= 300)
                failures.Add($"{fixture} as documented: {(int)documented.StatusCode} {await documented.Content.ReadAsStringAsync()}");

            foreach (var path in Paths(payload, []).ToList())
            foreach (var mutation in Mutations.OrderBy(_ => random.Next()).Take(MutationsPerField))
            {
                var body = Mutate(payload, path, mutation).ToJsonString();
                var before = await intake.RecordedAsync();
                var response = await intake.SendAsync(Delivery(eventName, body, token));
                sent++;
                var status = (int)response.StatusCode;
                var what = $"{fixture} {Show(path)} = {mutation?[..Math.Min(mutation.Length, 20)] ?? "(removed)"}: {status}";
                if (status >= 500) failures.Add($"{what} {await response.Content.ReadAsStringAsync()}");
                else if (status >= 400)
                {
                    if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") failures.Add($"{what} is not a problem");
                    if (await intake.RecordedAsync() != before) failures.Add($"{what} recorded something");
                }
            }
        }

        Assert.True(sent > 1000, $"only {sent} deliveries sent");
        Assert.True(failures.Count == 0, $"{failures.Count} of {sent} deliveries went wrong:\n" + string.Join("\n", failures.Take(30)));
    }

    [Fact]
    public async Task Given_ids_out_of_range_When_delivered_Then_each_is_a_400_naming_the_field_before_any_grain()
    {
        foreach (var bad in new[] { "0", "-4", "1.5", "1e300", "9223372036854775808", "\"1\"", "[1]" })
        {
            var payload = Consistent("merge_request.open.json");
            payload["object_attributes"]!["iid"] = JsonNode.Parse(bad);
            await intake.AssertRefusedAsync(Delivery("Merge Request Hook", payload.ToJsonString(), OrchestratorApiFactory.WebhookSecret),
                HttpStatusCode.BadRequest, "$.object_attributes.iid: expected a positive integer id");
        }
    }
}
