namespace Orchestrator.Domain;

/// <summary>What made the bot act: each kind finds its actor differently (see README, "Who may make the bot merge").</summary>
[GenerateSerializer, Alias("TriggerKind")]
public enum TriggerKind
{
    /// <summary>A REST API call: the token is the authority, and the GitLab user it names (if any) is checked too.</summary>
    Api = 0,
    /// <summary>A merge request hook showing the bot being assigned (or assigned at creation).</summary>
    Assignment = 1,
    /// <summary>A merge request hook showing the trigger label being added (or set at creation).</summary>
    Label = 2,
    /// <summary>A <c>/merge</c> note.</summary>
    Note = 3,
    /// <summary>Reconciliation found the bot assigned; the actor is the author of the latest "assigned to" system note.</summary>
    ReconciledAssignment = 4,
    /// <summary>Reconciliation found the trigger label; the actor is the user of its latest <c>add</c> label event.</summary>
    ReconciledLabel = 5,
}

/// <summary>
/// The person (or API token) behind a merge request: who the bot acts for, and which trigger to undo if they may not.
/// <see cref="UserId"/> is null when GitLab named no one (fail closed) or, for <see cref="TriggerKind.Api"/>, when the
/// token names no GitLab user; <see cref="Label"/> is free text for people (an API call's <c>requestedBy</c>).
/// </summary>
// Immutable: a grain call hands it on as it is, uncopied (every webhook delivery carries one).
[GenerateSerializer, Immutable, Alias("Requester")]
public sealed record Requester(
    [property: Id(0)] TriggerKind Trigger,
    [property: Id(1)] string? Username,
    [property: Id(2)] long? UserId,
    [property: Id(3)] string? Label = null)
{
    public const int MaxLabelLength = 200;

    /// <summary>An API token acting on its own authority (its scope and projects), naming no GitLab user.</summary>
    public static Requester ApiToken(string label) => new(TriggerKind.Api, null, null, label);

    /// <summary>An API token that acts for a GitLab user: that user's rights are checked too.</summary>
    public static Requester ApiUser(string username, long? userId, string? label = null) => new(TriggerKind.Api, username, userId, label);

    public static Requester Person(TriggerKind trigger, string username, long userId) => new(trigger, username, userId);

    /// <summary>Whether GitLab must be asked about a person before the bot acts (everything but a token acting on its own authority).</summary>
    public bool NamesPerson => Trigger != TriggerKind.Api || Username is not null || UserId is not null;

    /// <summary>How people see who asked.</summary>
    public string Display => Username is { } u ? $"@{u}" : Label ?? "an API client";

    public override string ToString() => Username is not null && Label is { } l ? $"{Display} ({l})" : Display;
}
