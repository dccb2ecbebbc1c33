using System.Text.Json;

namespace Orchestrator.Api.Http;

/// <summary>
/// Reads a JSON payload field by field with the type each field must have, and never throws: the first field that is
/// missing or of the wrong type is kept, with its JSON path, and every later read returns nothing. Callers read what
/// they need, then look at <see cref="Error"/> once, so a hostile payload is a 400 that names the field rather than a 500.
/// </summary>
public sealed class PayloadReader
{
    private PayloadReader() { }

    /// <summary>The first problem, as "<c>$.path: what was expected</c>"; null while every read succeeded.</summary>
    public string? Error { get; private set; }

    /// <summary>The top level, which must be an object.</summary>
    public static (PayloadReader Reader, PayloadObject Root) Of(JsonElement root)
    {
        var reader = new PayloadReader();
        if (root.ValueKind != JsonValueKind.Object) reader.Fail("$", "an object", root);
        return (reader, new PayloadObject(reader, root, "$"));
    }

    internal void Fail(string path, string expected, JsonElement? found) =>
        Error ??= $"{path}: expected {expected}, found {Describe(found)}";

    private static string Describe(JsonElement? found) => found?.ValueKind switch
    {
        null or JsonValueKind.Undefined => "nothing",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {Clip(found.Value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Clip(string raw) => raw.Length <= 40 ? raw : raw[..40] + "…";
}

/// <summary>One JSON object of a payload, at a known path; reads go through its <see cref="PayloadReader"/>.</summary>
/// <remarks>
/// The path is spelled only when a read fails: a well-formed delivery reads a dozen fields, and building each one's path
/// up front was a good share of what the intake allocated per delivery.
/// </remarks>
public sealed class PayloadObject
{
    private readonly PayloadReader reader;
    private readonly JsonElement element;
    private readonly PayloadObject? parent;
    private readonly string? name;
    private readonly int index;

    internal PayloadObject(PayloadReader reader, JsonElement element, string path) => (this.reader, this.element, name, index) = (reader, element, path, -1);

    private PayloadObject(PayloadReader reader, JsonElement element, PayloadObject parent, string name, int index) =>
        (this.reader, this.element, this.parent, this.name, this.index) = (reader, element, parent, name, index);

    public string Path => parent is null ? name! : index < 0 ? $"{parent.Path}.{name}" : $"{parent.Path}.{name}[{index}]";

    /// <summary>A field that must be present and an object.</summary>
    public PayloadObject? Object(string name) => Present(name, "an object", out var value) ? AsObject(value, name) : null;

    /// <summary>A field that may be missing or null, and is otherwise an object.</summary>
    public PayloadObject? OptionalObject(string name) => Field(name) is { } value ? AsObject(value, name) : null;

    /// <summary>A field that may be missing or null, and is otherwise an array of objects.</summary>
    public IReadOnlyList<PayloadObject>? OptionalObjects(string name)
    {
        if (Field(name) is not { } value) return null;
        if (value.ValueKind != JsonValueKind.Array)
        {
            reader.Fail($"{Path}.{name}", "an array of objects", value);
            return null;
        }
        var items = new List<PayloadObject>(value.GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
            if (AsObject(item, name, i++) is { } o) items.Add(o);
        return items;
    }

    /// <summary>A field that must be present and a string.</summary>
    public string? String(string name) => Present(name, "a string", out var value) ? AsString(value, name) : null;

    /// <summary>A field that may be missing or null, and is otherwise a string.</summary>
    public string? OptionalString(string name) => Field(name) is { } value ? AsString(value, name) : null;

    /// <summary>A GitLab id: present, an integer from 1 to <see cref="long.MaxValue"/>.</summary>
    public long? PositiveId(string name) => Present(name, "a positive integer id", out var value) ? AsId(value, name) : null;

    /// <summary>A GitLab id that may be missing or null.</summary>
    public long? OptionalPositiveId(string name) => Field(name) is { } value ? AsId(value, name) : null;

    private JsonElement? Field(string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value : null;

    private bool Present(string name, string expected, out JsonElement value)
    {
        if (Field(name) is { } found)
        {
            value = found;
            return true;
        }
        reader.Fail($"{Path}.{name}", expected, element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var nil) ? nil : null);
        value = default;
        return false;
    }

    private PayloadObject? AsObject(JsonElement value, string name, int index = -1)
    {
        if (value.ValueKind == JsonValueKind.Object) return new PayloadObject(reader, value, this, name, index);
        reader.Fail(index < 0 ? $"{Path}.{name}" : $"{Path}.{name}[{index}]", "an object", value);
        return null;
    }

    private string? AsString(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            // An escaped lone surrogate is valid JSON but no string; GetString throws on it rather than the parser.
            try
            {
                return value.GetString();
            }
            catch (InvalidOperationException)
            {
                reader.Fail($"{Path}.{name}", "valid text", value);
                return null;
            }
        }
        reader.Fail($"{Path}.{name}", "a string", value);
        return null;
    }

    private long? AsId(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var id) && id > 0) return id;
        reader.Fail($"{Path}.{name}", "a positive integer id", value);
        return null;
    }
}
