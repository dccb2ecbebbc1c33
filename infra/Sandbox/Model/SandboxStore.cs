using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Sandbox.Git;
using Sandbox.Http;

namespace Sandbox.Model;

/// <summary>
/// All of the sandbox's state, behind one gate: requests and background jobs (rebases) take it for their
/// whole critical section, git included, so every answer reflects one consistent moment.
/// </summary>
public sealed class SandboxStore
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, PersonalAccessToken> tokensByHash = [];
    private long nextId = 1;

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

    public Dictionary<long, User> Users { get; } = [];
    public Dictionary<long, Group> Groups { get; } = [];
    public Dictionary<long, Project> Projects { get; } = [];
    public List<MergeRequest> MergeRequests { get; } = [];
    public List<PersonalAccessToken> Tokens { get; } = [];

    public DateTimeOffset Now => Clock.GetUtcNow();

    public long NewId() => nextId++;

    public async Task<IAsyncDisposable> EnterAsync()
    {
        await gate.WaitAsync();
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            gate.Release();
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

    /// <summary>Looks a token up by its hash, so the lookup's timing says nothing about the token.</summary>
    public User? Authenticate(string? token)
    {
        if (string.IsNullOrEmpty(token) || !tokensByHash.TryGetValue(Hash(token), out var pat)) return null;
        if (pat.ExpiresAt is { } e && e < DateOnly.FromDateTime(Now.UtcDateTime)) return null;
        return Users.GetValueOrDefault(pat.UserId) is { State: "active" } user ? user : null;
    }

    public User UserById(long id) => Users.GetValueOrDefault(id) ?? throw GitLabError.NotFound("User");

    public Repository Repo(Project project) => new(project.RepoPath);

    public Project ProjectById(long id) => Projects.GetValueOrDefault(id) ?? throw GitLabError.NotFound("Project");

    /// <summary>Finds a project by number or by (URL-decoded) full path, as GitLab's <c>:id</c> allows; hidden ones are not found.</summary>
    public Project FindProject(string idOrPath, User caller)
    {
        var key = Uri.UnescapeDataString(idOrPath);
        var project = long.TryParse(key, out var id)
            ? Projects.GetValueOrDefault(id)
            : Projects.Values.FirstOrDefault(p => string.Equals(p.FullPath, key, StringComparison.OrdinalIgnoreCase));
        if (project is null || !CanRead(project, caller)) throw GitLabError.NotFound("Project");
        return project;
    }

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
    /// Developers push to unprotected branches, maintainers to protected ones. A fork's source branch also
    /// takes pushes from those who may merge into the target of an open MR that allows collaboration.
    /// </summary>
    public bool CanPush(Project project, string branch, User user)
    {
        if (AccessLevelOf(project, user) >= (project.ProtectedBranches.Contains(branch) ? AccessLevel.Maintainer : AccessLevel.Developer))
            return true;
        return MergeRequests.Any(mr => mr.State == "opened" && mr.AllowCollaboration && mr.SourceProjectId == project.Id
            && mr.SourceBranch == branch && mr.TargetProjectId != project.Id
            && CanMergeInto(ProjectById(mr.TargetProjectId), mr.TargetBranch, user));
    }

    public bool CanMergeInto(Project project, string branch, User user) =>
        AccessLevelOf(project, user) >= (project.ProtectedBranches.Contains(branch) ? AccessLevel.Maintainer : AccessLevel.Developer);

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
