using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Sandbox.Tests.Contract;

/// <summary>
/// Compares an answer with GitLab's documented example: every field of the example is present with the same
/// JSON type (extra fields are allowed). A null in the example accepts any value. A field the example fills may
/// be null only when named in <c>nullable</c>: GitLab itself sends null there in the state the test created
/// (e.g. <c>merged_by</c> before a merge), and the caller says so explicitly.
/// </summary>
public static class Shape
{
    public static IReadOnlyList<string> Differences(JsonNode? expected, JsonNode? actual, ISet<string> nullable, string path = "$")
    {
        var problems = new List<string>();
        Compare(expected, actual, nullable, path, problems);
        return problems;
    }

    private static void Compare(JsonNode? expected, JsonNode? actual, ISet<string> nullable, string path, List<string> problems)
    {
        if (expected is null) return;
        if (actual is null)
        {
            if (!nullable.Contains(path)) problems.Add($"{path}: null, expected {Kind(expected)}");
            return;
        }
        if (Kind(expected) != Kind(actual))
        {
            problems.Add($"{path}: {Kind(actual)}, expected {Kind(expected)}");
            return;
        }
        switch (expected)
        {
            case JsonObject e:
                var a = (JsonObject)actual;
                foreach (var (key, value) in e)
                {
                    if (!a.ContainsKey(key)) problems.Add($"{path}.{key}: missing");
                    else Compare(value, a[key], nullable, $"{path}.{key}", problems);
                }
                break;
            case JsonArray e when e.Count > 0:
                var arr = (JsonArray)actual;
                if (arr.Count == 0 && !nullable.Contains(path + "[]") && !nullable.Contains(path)) problems.Add($"{path}: empty, expected elements like the example");
                foreach (var item in arr) Compare(e[0], item, nullable, path + "[]", problems);
                break;
        }
    }

    private static string Kind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        var k => k.ToString().ToLowerInvariant(),
    };
}
