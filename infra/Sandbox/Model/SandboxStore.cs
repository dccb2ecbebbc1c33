using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Sandbox.Git;
using Sandbox.Http;

namespace Sandbox.Model;

/// <summary>
/// All of the sandbox's state. There is no gate over all of it: each project's state (its settings, members'
/// rights, protected branches, merge requests, pipelines, repository) is guarded by the lock of its fork network
/// (<see cref="LockAsync"/>), so requests, pushes, rebases and jobs of one project wait only for each other and never
/// for another project's; within a network a fork merge request, a collaboration right or a fork pipeline spans two
/// projects under one lock. The registries every request reads (users, tokens, groups, projects, merge requests)
/// are concurrent collections read without a lock; creating a user, group or project takes the registry lock
/// (<see cref="EnterRegistryAsync"/>) so names stay unique. Order: a network lock before the registry lock, never two
/// network locks at once. No lock is held across a simulated delay or a webhook delivery.
/// </summary>
public sealed class SandboxStore
{
    private readonly ConcurrentDictionary<long, SemaphoreSlim> networkLocks = new();
    private readonly SemaphoreSlim registry = new(1, 1);
    private readonly ConcurrentDictionary<string, PersonalAccessToken> tokensByHash = new();
    private long nextId;

    public SandboxStore(IOptions<SandboxOptions> options, TimeProvider clock)
    {
        Options = options.Value;
        Clock = clock;
        DataDir = string.IsNullOrEmpty(Options.DataDir)
            ? Directory.CreateTempSubdirectory("gitlab-sandbox-").FullName
            : Directory.CreateDirectory(Options.DataDir).FullName;
        var root = AddUser("root", "Administrator", "admin@example.com", isAdmin: true);
        AdminToken = string.IsNullOrEmpty(Options.AdminToken) ? "glpat-" + RandomToken() : Options.AdminToken;
        AddToken(root.Id, "admin", ["api", "sudo"], AdminToken);
    }

    public SandboxOptions Options { get; }
    public TimeProvider Clock { get; }
    public string DataDir { get; }
    public string AdminToken { get; }
    public string ExternalUrl { get; set; } = "http://127.0.0.1";

    public ConcurrentDictionary<long, User> Users { get; } = new();
    public ConcurrentDictionary<long, Group> Groups { get; } = new();
    public ConcurrentDictionary<long, Project> Projects { get; } = new();
    public SnapshotList<MergeRequest> MergeRequests { get; } = [];
    public SnapshotList<PersonalAccessToken> Tokens { get; } = [];

    public DateTimeOffset Now => Clock.GetUtcNow();

    public long NewId() => Interlocked.Increment(ref nextId);

    /// <summary>
    /// For tests: runs each time a project's lock has been taken, while it is held, with the project it was taken for
    /// (a test holds a long operation on one project there and watches the others go on).
    /// </summary>
    public Func<Project, Task>? Locked { get; set; }

    /// <summary>
    /// Takes the lock of <paramref name="project"/>'s fork network (the project, its forks and what it was forked
    /// from), where every read and change of that project's state happens; not reentrant.
    /// </summary>
    public async Task<IAsyncDisposable> LockAsync(Project project)
    {
        var gate = networkLocks.GetOrAdd(NetworkOf(project), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        var held = new Releaser(gate);
        try
        {
            if (Locked is { } hook) await hook(project);
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
        return held;
    }

    /// <summary>The registry lock: creating users, groups and projects, whose names must stay unique.</summary>
    public async Task<IAsyncDisposable> EnterRegistryAsync()
    {
        await registry.WaitAsync();
        return new Releaser(registry);
    }

    /// <summary>The root of the project's fork network: what a fork was forked from never changes.</summary>
    private long NetworkOf(Project project)
    {
        var root = project;
        while (root.ForkedFromId is { } parent && Projects.TryGetValue(parent, out var upstream)) root = upstream;
        return root.Id;
    }

    private sealed class Releaser(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) gate.Release();
            return ValueTask.CompletedTask;
        }
    }

    public User AddUser(string username, string name, string email, bool isAdmin)
    {
        var user = new User { Id = NewId(), Username = username, Name = name, Email = email, IsAdmin = isAdmin, CreatedAt = Now };
        Users[user.Id] = user;
        return user;
    }

    public PersonalAccessToken AddToken(long userId, string name, IReadOnlyList<string> scopes, string? value = null, DateOnly? expiresAt = null)
    {
        var token = new PersonalAccessToken
        {
            Id = NewId(), Value = value ?? "glpat-" + RandomToken(), UserId = userId, Name = name, Scopes = scopes, CreatedAt = Now,
            ExpiresAt = expiresAt,
        };
        Tokens.Add(token);
        tokensByHash[Hash(token.Value)] = token;
        return token;
    }

    public User? Authenticate(string? token) => ActiveToken(token) is { } pat ? Users[pat.UserId] : null;

    /// <summary>
    /// A token that is not expired and whose user is active, looked up by its hash so the lookup's timing says
    /// nothing about the token.
    /// </summary>
    public PersonalAccessToken? ActiveToken(string? token)
    {
        if (string.IsNullOrEmpty(token) || !tokensByHash.TryGetValue(Hash(token), out var pat)) return null;
        if (pat.ExpiresAt is { } e && e < DateOnly.FromDateTime(Now.UtcDateTime)) return null;
        return Users.GetValueOrDefault(pat.UserId) is { State: "active" } ? pat : null;
    }

    public User UserById(long id) => Users.GetValueOrDefault(id) ?? throw GitLabError.NotFound("User");

    public Repository Repo(Project project) => new(project.RepoPath);

    public Project ProjectById(long id) => Projects.GetValueOrDefault(id) ?? throw GitLabError.NotFound("Project");

    /// <summary>Finds a project by number or by (URL-decoded) full path, as GitLab's <c>:id</c> allows; hidden ones are not found.</summary>
    public Project FindProject(string idOrPath, User caller)
    {
        var project = ProjectByIdOrPath(idOrPath);
        if (project is null || !CanRead(project, caller)) throw GitLabError.NotFound("Project");
        return project;
    }

    /// <summary>A project by number or by (URL-decoded) full path, whoever may see it.</summary>
    public Project? ProjectByIdOrPath(string idOrPath)
    {
        var key = Uri.UnescapeDataString(idOrPath);
        return long.TryParse(key, out var id)
            ? Projects.GetValueOrDefault(id)
            : ProjectByPath(key);
    }

    public Project? ProjectByPath(string fullPath) =>
        Projects.Values.FirstOrDefault(p => string.Equals(p.FullPath, fullPath, StringComparison.OrdinalIgnoreCase));

    public int AccessLevelOf(Project project, User user)
    {
        if (user.IsAdmin) return AccessLevel.Owner;
        var level = project.Members.GetValueOrDefault(user.Id);
        if (project.NamespaceKind == "group" && Groups.TryGetValue(project.NamespaceId, out var group))
            level = Math.Max(level, group.Members.GetValueOrDefault(user.Id));
        return level;
    }

    public bool CanRead(Project project, User user) =>
        project.Visibility is "public" or "internal" || AccessLevelOf(project, user) >= AccessLevel.Guest;

    /// <summary>
    /// GitLab's Gitlab::UserAccess#can_push_to_branch?: the user must be able to collaborate (a Developer or more, or
    /// a maintainer of the target of an open MR from this fork branch that allows collaboration), and a protected
    /// branch also needs one of its matching rules to let the user push.
    /// </summary>
    public bool CanPush(Project project, string branch, User user)
    {
        var level = AccessLevelOf(project, user);
        if (level < AccessLevel.Developer && !CollaborationAllowsPush(project, branch, user)) return false;
        return !project.IsProtected(branch) || project.ProtectionsOf(branch).Any(p => p.PushAccess.Any(a => a.Grants(user, level)));
    }

    /// <summary>
    /// GitLab's MergeRequest#can_be_merged_by? (can_update_branch?): whoever may push to the target branch, or whom a
    /// matching rule lets merge; an unprotected branch takes Developers and more.
    /// </summary>
    public bool CanMergeInto(Project project, string branch, User user)
    {
        if (CanPush(project, branch, user)) return true;
        var level = AccessLevelOf(project, user);
        return project.IsProtected(branch)
            ? project.ProtectionsOf(branch).Any(p => p.MergeAccess.Any(a => a.Grants(user, level)))
            : level >= AccessLevel.Developer;
    }

    /// <summary>GitLab's Project#branch_allows_collaboration?: an open MR from this fork branch lets the user push to it.</summary>
    public bool CollaborationAllowsPush(Project project, string branch, User user) =>
        CollaborationMergeRequests(project, user).Any(mr => mr.SourceBranch == branch);

    /// <summary>GitLab's Project#any_branch_allows_collaboration?: whether some fork branch here is open to the user.</summary>
    public bool AnyBranchAllowsCollaboration(Project project, User user) => CollaborationMergeRequests(project, user).Any();

    private IEnumerable<MergeRequest> CollaborationMergeRequests(Project project, User user) =>
        MergeRequests.Where(mr => mr.State == "opened" && mr.AllowCollaboration && mr.SourceProjectId == project.Id
            && mr.TargetProjectId != project.Id && CanMergeInto(ProjectById(mr.TargetProjectId), mr.TargetBranch, user));

    /// <summary>GitLab's <c>can?(:admin_merge_request)</c>: who may set assignees, reviewers and labels (Developers and more).</summary>
    public bool CanAdminMergeRequests(Project project, User user) => AccessLevelOf(project, user) >= AccessLevel.Developer;

    /// <summary>Adds a rule; each access entry is a role level or one user.</summary>
    public ProtectedBranch Protect(Project project, string name, IEnumerable<(int? Level, long? UserId)> push,
        IEnumerable<(int? Level, long? UserId)> merge, bool allowForcePush = false)
    {
        var rule = new ProtectedBranch { Id = NewId(), Name = name, AllowForcePush = allowForcePush };
        rule.PushAccess.AddRange(push.Select(a => new BranchAccess { Id = NewId(), AccessLevel = a.Level, UserId = a.UserId }));
        rule.MergeAccess.AddRange(merge.Select(a => new BranchAccess { Id = NewId(), AccessLevel = a.Level, UserId = a.UserId }));
        project.ProtectedBranches.Add(rule);
        return rule;
    }

    /// <summary>GitLab's default protection, Maintainers push and merge, as it applies to a new project's default branch.</summary>
    public ProtectedBranch ProtectForMaintainers(Project project, string name) =>
        Protect(project, name, [(AccessLevel.Maintainer, null)], [(AccessLevel.Maintainer, null)]);

    /// <summary>The project's label by title, created on first use as GitLab's API does for MR labels.</summary>
    public Label LabelOf(Project project, string title)
    {
        if (!project.Labels.TryGetValue(title, out var label))
            project.Labels[title] = label = new Label(NewId(), title, "#6699cc", Now);
        return label;
    }

    /// <summary>A branch moved: every open MR that reads it recomputes its mergeability for a while, as GitLab does.</summary>
    public void BranchMoved(Project project, string branch)
    {
        var until = Now + Options.MergeCheckDuration;
        foreach (var mr in MergeRequests.Where(m => m.State == "opened"
                     && ((m.SourceProjectId == project.Id && m.SourceBranch == branch)
                         || (m.TargetProjectId == project.Id && m.TargetBranch == branch))))
        {
            mr.CheckingUntil = until;
        }
        project.LastActivityAt = Now;
    }

    public string WebUrl(string path) => $"{ExternalUrl.TrimEnd('/')}/{path.TrimStart('/')}";

    private static string RandomToken() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
