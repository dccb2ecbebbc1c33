using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orchestrator.Adapters;
using Orchestrator.Adapters.Git;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Persistence;
using Orchestrator.Workflow;

namespace Orchestrator.Tests.Shell;

/// <summary>The driver with fakes of everything it talks to: no host, no database, no network.</summary>
internal sealed class ShellWorld
{
    public FakeGitLab GitLab { get; } = new();

    public ShellWorld() => GitLab.RegistryRepositories = () => [.. Registry.Keys.Select(k => k.Repository).Distinct()];
    public ProjectPolicy Policy { get; set; } = new();
    public FakeQueue Queue { get; } = new();
    public FakeGitWorker Git { get; } = new();
    public FakeImpersonation Sudo { get; } = new();
    public StepMemo Memo { get; } = new();
    public WorkflowSettings Workflow { get; } = new();
    /// <summary>The target's registry: images by repository and tag.</summary>
    public Dictionary<(string Repository, string Tag), RegistryImage> Registry { get; } = [];
    /// <summary>Manifests the registry still holds by digest though no tag names them (a tag pushed over keeps its old one).</summary>
    public List<RegistryImage> Untagged { get; } = [];
    /// <summary>Each copy asked of the registry: from repository and digest, to repository and tag.</summary>
    public List<string> Copies { get; } = [];
    public static readonly MergeRequestKey Key = new(FakeGitLab.Project, FakeGitLab.Iid);

    public Task<StepResult> StepAsync(MergeRequestWorkflow state, DateTimeOffset now) => Driver().StepAsync(Key, state, Policy, now, Memo);

    private WorkflowDriver Driver()
    {
        var options = Options.Create(new OrchestratorOptions { GitLab = new GitLabOptions { BotUsername = "marge-bot" }, Workflow = Workflow });
        var registry = new FakeRegistry(this);
        return new WorkflowDriver(GitLab, registry, GrainsFor(Queue), new Watches(), new PermissionObserver(GitLab), new TargetPipeline(GitLab, registry, options, new Ledger(() => TamperedElsewhere)),
            new Policies(this), new PolicySuggester(GitLab), Git, new ReapprovalObserver(GitLab, Sudo, options), options, NullLogger<WorkflowDriver>.Instance);
    }

    public sealed class FakeQueue : IMergeQueueGrain
    {
        public bool Grants { get; set; } = true;
        public List<long> Released { get; } = [];
        public Task<bool> TryAcquire(long iid, DateTimeOffset order) => Task.FromResult(Grants);
        public Task Release(long iid) { Released.Add(iid); return Task.CompletedTask; }
        public Task<MergeQueueView> Pause(string reason, string by, bool stopRunning, DateTimeOffset at) => throw new NotSupportedException();
        public Task<MergeQueueView> Resume(string by, DateTimeOffset at) => throw new NotSupportedException();
        public Task<bool> MoveToFront(long iid, string by, DateTimeOffset at) => throw new NotSupportedException();
        public long? Holder { get; set; } = 3;
        public Task<MergeQueueView> Get() => Task.FromResult(new MergeQueueView(Grants ? null : Holder, [], null));
    }

    public sealed class FakeGitWorker : IGitWorker
    {
        public List<GitRewrite> Requests { get; } = [];
        public GitRewriteResult Result { get; set; } = new GitRewriteResult.Pushed("c4c4", Domain.Histories.TargetSha, ["c4c4"]);
        public GitRewriteResult? Preview { get; set; }
        public List<GitRewrite> Previews { get; } = [];
        public Task<GitRewriteResult> RewriteAsync(GitRewrite request, CancellationToken ct = default)
        {
            Requests.Add(request);
            return Task.FromResult(Result);
        }

        public Task<GitRewriteResult> PreviewAsync(GitRewrite request, CancellationToken ct = default)
        {
            Previews.Add(request);
            return Task.FromResult(Preview ?? throw new InvalidOperationException("no preview arranged"));
        }

        // The shell tests drive no merge train on git: asked anyway, they fail loudly.
        public Task<GitRewriteResult> MergeCarAsync(GitTrainMerge request, CancellationToken ct = default) => throw new NotSupportedException();

        public Task<GitMergePreview> PreviewMergeAsync(GitProject project, string targetHead, string sourceHead, string tested, CancellationToken ct = default) =>
            throw new NotSupportedException();

        public Task<IReadOnlyList<string>> TreesAsync(GitProject project, IReadOnlyList<string> commits, CancellationToken ct = default) =>
            throw new NotSupportedException();

        public Task<GitRefUpdate> ResetBranchAsync(GitProject project, string branch, string? to, string? expected, CancellationToken ct = default) =>
            throw new NotSupportedException();
    }

    /// <summary>The administrator's client: records each approval made in someone's name, and may refuse one as GitLab would.</summary>
    public sealed class FakeImpersonation : IGitLabImpersonation
    {
        public bool Configured { get; set; } = true;
        public List<(long Project, long Iid, string Sha, long User)> Approvals { get; } = [];
        public Func<long, GitLabException?> Refuse { get; set; } = _ => null;
        public Action<long>? Approved { get; set; }
        public List<long> LookedUp { get; } = [];
        public Task<GitLabUser> UserAsAsync(long userId, CancellationToken ct = default)
        {
            if (Refuse(userId) is { } refusal) throw refusal;
            LookedUp.Add(userId);
            return Task.FromResult(new GitLabUser(userId, $"user{userId}"));
        }

        public Task ApproveAsAsync(long project, long iid, string sha, long userId, CancellationToken ct = default)
        {
            if (Refuse(userId) is { } refusal) throw refusal;
            Approvals.Add((project, iid, sha, userId));
            Approved?.Invoke(userId);
            return Task.CompletedTask;
        }
    }

    private sealed class Policies(ShellWorld world) : IPolicyStore
    {
        public Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default) => Task.FromResult(world.Policy);
        public Task<ProjectPolicy> CurrentAsync(long project, CancellationToken ct = default) => GetAsync(project, ct);
        public Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default) => Task.FromResult(true);
        public Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default) => throw new NotSupportedException();
    }

    private sealed class Watches : IPipelineWatches
    {
        public Task WatchAsync(long project, long pipeline, MergeRequestKey key, CancellationToken ct = default) => Task.CompletedTask;
        public Task<MergeRequestKey?> FindAsync(long project, long pipeline, CancellationToken ct = default) => Task.FromResult<MergeRequestKey?>(null);
    }

    /// <summary>What other merge requests' streams recorded as planted in this project's registry.</summary>
    public List<TagRestore> TamperedElsewhere { get; } = [];

    public sealed class Ledger(Func<IReadOnlyList<TagRestore>> recorded) : Orchestrator.Persistence.ITamperLedger
    {
        public Task<IReadOnlyList<TagRestore>> ElsewhereAsync(MergeRequestKey key, CancellationToken ct = default) => Task.FromResult(recorded());

        /// <summary>No other guarded pipeline in these worlds.</summary>
        public Task<IReadOnlyList<string>> OverlappingAsync(MergeRequestKey key, DateTimeOffset snapshotAt, CancellationToken ct = default) =>
            Task.FromResult<IReadOnlyList<string>>([]);
    }

    private sealed class FakeRegistry(ShellWorld world) : IImageRegistry
    {
        private Dictionary<(string Repository, string Tag), RegistryImage> images => world.Registry;

        public Task<RegistryImage?> InspectAsync(string repository, string reference, CancellationToken ct = default) =>
            Task.FromResult(images.GetValueOrDefault((repository, reference)));
        /// <summary>Only a manifest the registry holds can be copied, as the real one refuses with a 404 otherwise.</summary>
        public Task<string> CopyAsync(string fromRepository, string digest, string toRepository, string tag, CancellationToken ct = default)
        {
            world.Copies.Add($"{fromRepository}@{digest} -> {toRepository}:{tag}");
            var image = images.Where(i => i.Key.Repository == fromRepository).Select(i => i.Value).Concat(world.Untagged).FirstOrDefault(i => i.Digest == digest)
                ?? throw new RegistryException(System.Net.HttpStatusCode.NotFound, $"{fromRepository}@{digest} does not exist");
            images[(toRepository, tag)] = image;
            return Task.FromResult(digest);
        }
        public Task<string?> DigestAsync(string repository, string reference, CancellationToken ct = default) =>
            Task.FromResult(images.GetValueOrDefault((repository, reference))?.Digest);
        public Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken ct = default) =>
            Task.FromResult<IReadOnlyList<string>>([.. images.Keys.Where(k => k.Repository == repository).Select(k => k.Tag).Order(StringComparer.Ordinal)]);
        public Task DeleteAsync(string repository, string digest, CancellationToken ct = default) => throw new NotSupportedException();
    }

    /// <summary>An <see cref="IGrainFactory"/> that knows one grain: the branch's queue.</summary>
    private static IGrainFactory GrainsFor(IMergeQueueGrain queue)
    {
        var proxy = DispatchProxy.Create<IGrainFactory, QueueOnly>();
        ((QueueOnly)(object)proxy).Queue = queue;
        return proxy;
    }

    public class QueueOnly : DispatchProxy
    {
        public IMergeQueueGrain? Queue { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method is { Name: "GetGrain" } && method.ReturnType == typeof(IMergeQueueGrain)
                ? Queue
                : throw new NotSupportedException($"{method?.Name}: the shell tests know only the queue grain");
    }
}
