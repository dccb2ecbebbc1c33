namespace Sandbox.Model;

/// <summary>A project label; GitLab creates one on first use when an MR names it by title through the API.</summary>
public sealed record Label(long Id, string Title, string Color, DateTimeOffset CreatedAt);

/// <summary>GitLab's ResourceLabelEvent: a label added to or removed from an MR, by whom and when.</summary>
public sealed record LabelEvent(long Id, long UserId, DateTimeOffset CreatedAt, Label Label, string Action);
