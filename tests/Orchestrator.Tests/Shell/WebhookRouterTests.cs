using System.Reflection;
using Microsoft.Extensions.Options;
using Orchestrator.Api.Webhooks;
using Orchestrator.Api.Webhooks.Payloads;
using Orchestrator.Domain;
using Orchestrator.Grains;
using Orchestrator.Hosting;
using Orchestrator.Persistence;
using Orchestrator.Workflow;
using Xunit;

namespace Orchestrator.Tests.Shell;

/// <summary>The webhook router on fakes: which grain each delivery reaches, with what, and that it asks GitLab nothing.</summary>
public sealed class WebhookRouterTests
{
    private const long Project = 7;
    private readonly Dictionary<string, FakeMergeRequest> requests = [];
    private readonly Dictionary<(long, long), MergeRequestKey> watched = [];
    private ProjectPolicy policy = new(AllowedCommanders: ["maintainer"]);
    private long? holder;

    private WebhookRouter Router() => new(Grains(), new Watches(watched), new Policies(() => policy),
        Options.Create(new OrchestratorOptions { GitLab = new GitLabOptions { BotUsername = "marge-bot" } }));

    private FakeMergeRequest Mr(long iid) => requests.TryGetValue(new MergeRequestKey(Project, iid).ToString(), out var mr) ? mr : new FakeMergeRequest();

    [Fact]
    public async Task Given_a_pipeline_an_mr_waits_on_When_its_hook_arrives_Then_that_mr_records_the_status_with_the_delivery_key()
    {
        watched[(Project, 41)] = new MergeRequestKey(Project, 3);

        var routed = await Router().RouteAsync(new PipelineHook(Project, 41, "failed", null, null), "key-1", default);

        Assert.Equal(["observe 41 failed key-1"], Mr(3).Calls);
        Assert.Equal(new MergeRequestKey(Project, 3).StreamKey, routed.Stream);
    }

    [Fact]
    public async Task Given_a_pipeline_nobody_waits_on_When_its_hook_arrives_Then_it_is_acknowledged_and_ignored() =>
        Assert.StartsWith("ignored", (await Router().RouteAsync(new PipelineHook(Project, 99, "success", null, null), "key-2", default)).Outcome);

    [Fact]
    public async Task Given_a_branch_an_mr_holds_When_someone_pushes_to_it_Then_that_mr_looks_at_once()
    {
        holder = 5;

        await Router().RouteAsync(new PushHook(Project, Project, "refs/heads/main"), "key-3", default);

        Assert.Equal(["poke"], Mr(5).Calls);
    }

    [Theory]
    [InlineData("@marge-bot merge", true)]
    [InlineData("looks good to me", false)]
    public async Task Given_a_note_on_an_mr_When_it_commands_a_merge_Then_its_author_is_the_requester(string note, bool enqueued)
    {
        var hook = new NoteHook(Project, Project, Project, NoteHook.OnMergeRequest, note, 40, new HookUser(40, "maintainer"), new NotedMergeRequest(3, Project, Head));

        await Router().RouteAsync(hook, "key-4", default);

        // The head the note's author saw is pinned with the request.
        Assert.Equal(enqueued ? [$"enqueue maintainer Note key-4 {Head}/note_hook"] : [], Mr(3).Calls);
    }

    private const string Head = "0123456789abcdef0123456789abcdef01234567";

    [Theory]
    [InlineData(Head, Head + "/merge_request_hook")]
    [InlineData(null, "-/first_look")]
    public async Task Given_the_bot_assigned_When_the_hook_names_the_head_Then_that_head_is_pinned_else_the_first_look_pins_it(string? lastCommit, string pinned)
    {
        var assigned = new HookChange([], ["marge-bot"], MergeRequestHook.UsernameComparer);
        var hook = new MergeRequestHook(Project, Project, 3, "update", 40, new HookUser(40, "maintainer"), ["marge-bot"], [], assigned, null, lastCommit);

        await Router().RouteAsync(hook, "key-6", default);

        Assert.Equal([$"enqueue maintainer Assignment key-6 {pinned}"], Mr(3).Calls);
    }

    [Fact]
    public async Task Given_a_project_that_takes_no_commands_by_note_When_one_arrives_Then_nothing_is_asked_of_any_mr()
    {
        policy = new ProjectPolicy();
        var hook = new NoteHook(Project, Project, Project, NoteHook.OnMergeRequest, "@marge-bot merge", 40, new HookUser(40, "maintainer"), new NotedMergeRequest(3, Project));

        Assert.StartsWith("ignored", (await Router().RouteAsync(hook, "key-5", default)).Outcome);
        Assert.Empty(requests);
    }

    public sealed class FakeMergeRequest : IMergeRequestGrain
    {
        public List<string> Calls { get; } = [];
        private static readonly CommandOutcome Recorded = new(new WorkflowSnapshot(1, MergeRequestWorkflow.Initial), 1, null);

        public Task<CommandOutcome> Enqueue(Requester requester, string? delivery = null, RequestedHead? head = null)
        {
            Calls.Add($"enqueue {requester.Username} {requester.Trigger} {delivery} {head?.Sha ?? "-"}/{head?.Seen}");
            return Task.FromResult(Recorded);
        }

        public Task<CommandOutcome> Cancel(string cancelledBy, string reason, string? delivery = null)
        {
            Calls.Add($"cancel {cancelledBy} {delivery}");
            return Task.FromResult(Recorded);
        }

        public Task<CommandOutcome> ObservePipeline(long pipelineId, string status, string? delivery = null)
        {
            Calls.Add($"observe {pipelineId} {status} {delivery}");
            return Task.FromResult(Recorded);
        }

        public Task Poke()
        {
            Calls.Add("poke");
            return Task.CompletedTask;
        }

        public Task<WorkflowSnapshot> GetSnapshot() => throw new NotSupportedException();
        public Task<IReadOnlyList<RecordedEvent>> GetEvents() => throw new NotSupportedException();
        public Task<IReadOnlyList<TimelineStep>> GetTimeline() => throw new NotSupportedException();
        public Task<ReplayView> Replay() => throw new NotSupportedException();
    }

    private IGrainFactory Grains()
    {
        var proxy = DispatchProxy.Create<IGrainFactory, Dispatch>();
        ((Dispatch)(object)proxy).Resolve = (type, key) =>
            type == typeof(IMergeRequestGrain) ? (requests.TryGetValue(key, out var mr) ? mr : requests[key] = new FakeMergeRequest())
            : type == typeof(IMergeQueueGrain) ? new Queue(holder)
            : throw new NotSupportedException(type.Name);
        return proxy;
    }

    public class Dispatch : DispatchProxy
    {
        public Func<Type, string, object>? Resolve { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method is { Name: "GetGrain" } && args is [string key, ..] ? Resolve!(method.ReturnType, key) : throw new NotSupportedException(method?.Name);
    }

    private sealed class Queue(long? holder) : IMergeQueueGrain
    {
        public Task<MergeQueueView> Get() => Task.FromResult(new MergeQueueView(holder, []));
        public Task<bool> TryAcquire(long iid, DateTimeOffset order) => throw new NotSupportedException();
        public Task Release(long iid) => throw new NotSupportedException();
        public Task<MergeQueueView> Pause(string reason, string by, bool stopRunning, DateTimeOffset at) => throw new NotSupportedException();
        public Task<MergeQueueView> Resume(string by, DateTimeOffset at) => throw new NotSupportedException();
        public Task<bool> MoveToFront(long iid, string by, DateTimeOffset at) => throw new NotSupportedException();
    }

    private sealed class Watches(Dictionary<(long, long), MergeRequestKey> watched) : IPipelineWatches
    {
        public Task WatchAsync(long project, long pipeline, MergeRequestKey key, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<MergeRequestKey?> FindAsync(long project, long pipeline, CancellationToken ct = default) =>
            Task.FromResult<MergeRequestKey?>(watched.TryGetValue((project, pipeline), out var key) ? key : null);
    }

    private sealed class Policies(Func<ProjectPolicy> current) : IPolicyStore
    {
        public Task<ProjectPolicy> GetAsync(long project, CancellationToken ct = default) => Task.FromResult(current());
        public Task<ProjectPolicy> CurrentAsync(long project, CancellationToken ct = default) => GetAsync(project, ct);
        public Task<bool> IsConfiguredAsync(long project, CancellationToken ct = default) => Task.FromResult(true);
        public Task SaveAsync(long project, ProjectPolicy policy, CancellationToken ct = default) => throw new NotSupportedException();
    }
}
