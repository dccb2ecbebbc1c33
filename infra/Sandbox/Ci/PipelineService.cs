using System.Collections.Concurrent;
using Sandbox.Git;
using Sandbox.Http;
using Sandbox.Model;

namespace Sandbox.Ci;

/// <summary>
/// Creates pipelines as GitLab does (pushes, the API, merge requests) and runs their jobs in the background:
/// stages in order and a stage's jobs at once, <c>needs</c> honoured, later stages skipped after a failure, blocking
/// manual jobs left waiting (the pipeline then sits at <c>manual</c>), each job on a runner from a shared pool. Jobs
/// run outside any lock, side by side within a stage, a project's pipelines side by side too; every status change is
/// made under the lock of the pipeline's project and announced to the webhooks.
/// </summary>
public sealed class PipelineService(SandboxStore store, JobExecutor executor, ILogger<PipelineService> logger)
{
    public event Action<Pipeline>? PipelineChanged;
    public event Action<Job>? JobChanged;

    public SnapshotList<Pipeline> Pipelines { get; } = [];
    public ConcurrentDictionary<long, Job> AllJobs { get; } = new();
    private readonly ConcurrentDictionary<long, long> nextIid = new();

    /// <summary>Under the project's lock. A broken .gitlab-ci.yml still makes a pipeline, failed with <c>yaml_errors</c>.</summary>
    public async Task<Pipeline?> CreateAsync(Project project, string refName, string sha, string beforeSha, string source, User user,
        IReadOnlyList<KeyValuePair<string, string>> variables, MergeRequest? mergeRequest = null, bool failOnYamlError = false)
    {
        var repo = store.Repo(project);
        PipelineSpec? spec = null;
        string? yamlError = null;
        try
        {
            spec = await PipelineConfig.LoadAsync(async path =>
                await repo.ReadFileAsync(sha, path) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : null);
        }
        catch (CiConfigException e) when (e.Message == "Missing .gitlab-ci.yml file" && source == "push")
        {
            return null; // no CI configured: GitLab creates no pipeline for a push
        }
        catch (CiConfigException e)
        {
            if (failOnYamlError) throw GitLabError.BadRequest(e.Message);
            yamlError = e.Message;
        }
        var iid = nextIid.AddOrUpdate(project.Id, 1, (_, last) => last + 1);
        var pipeline = new Pipeline
        {
            Id = store.NewId(), Iid = iid, ProjectId = project.Id, Sha = sha, BeforeSha = beforeSha, Ref = refName, Source = source,
            UserId = user.Id, CreatedAt = store.Now, UpdatedAt = store.Now, MergeRequest = mergeRequest, YamlErrors = yamlError,
            Commit = await repo.CommitAsync(sha),
            Variables = [.. variables],
        };
        Pipelines.Add(pipeline);
        if (spec is null)
        {
            pipeline.Status = "failed";
            pipeline.FinishedAt = store.Now;
            PipelineChanged?.Invoke(pipeline);
            return pipeline;
        }
        foreach (var jobSpec in spec.Jobs.OrderBy(j => spec.Stages.ToList().IndexOf(j.Stage)))
            AddJob(pipeline, jobSpec, user.Id);
        pipeline.Status = "pending";
        PipelineChanged?.Invoke(pipeline);
        Start(pipeline, spec);
        return pipeline;
    }

    private Job AddJob(Pipeline pipeline, JobSpec spec, long userId)
    {
        var job = new Job { Id = store.NewId(), Name = spec.Name, Stage = spec.Stage, Pipeline = pipeline, Spec = spec, CreatedAt = store.Now, UserId = userId };
        pipeline.Jobs.Add(job);
        AllJobs[job.Id] = job;
        return job;
    }

    private readonly ConcurrentDictionary<long, PipelineSpec> specs = new();

    private void Start(Pipeline pipeline, PipelineSpec spec)
    {
        specs[pipeline.Id] = spec;
        _ = Task.Run(() => RunAsync(pipeline));
    }

    // Jobs take a runner from one pool shared by every pipeline (Sandbox:Ci:Runners; 0 = one for every job), as an
    // instance's runners are: a job waits pending until one is free.
    private readonly SemaphoreSlim? runners = store.Options.Ci.Runners > 0 ? new(store.Options.Ci.Runners) : null;

    /// <summary>Starts every job that can run (a stage's jobs together), and looks again each time one finishes.</summary>
    private async Task RunAsync(Pipeline pipeline)
    {
        var running = new List<Task>();
        try
        {
            while (true)
            {
                await using (await LockAsync(pipeline))
                {
                    var ready = Advance(pipeline);
                    if (ready.Count == 0 && running.Count == 0) return;
                    foreach (var job in ready)
                    {
                        Set(job, "pending");
                        running.Add(RunJobAsync(pipeline, job));
                    }
                }
                var finished = await Task.WhenAny(running);
                running.Remove(finished);
                await finished;
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "pipeline {Pipeline} crashed", pipeline.Id);
        }
    }

    private async Task RunJobAsync(Pipeline pipeline, Job job)
    {
        if (runners is not null)
        {
            try { await runners.WaitAsync(pipeline.Cancellation.Token); }
            catch (OperationCanceledException) { return; } // cancelled while waiting: Cancel already marked it
        }
        try
        {
            await using (await LockAsync(pipeline))
            {
                if (job.Status != "pending") return;
                job.Status = "running";
                job.StartedAt = store.Now;
                pipeline.StartedAt ??= store.Now;
                Touch(pipeline);
                JobChanged?.Invoke(job);
            }
            var outcome = await executor.RunAsync(job, specs[pipeline.Id], pipeline.Cancellation.Token);
            await using (await LockAsync(pipeline))
            {
                job.Status = pipeline.Cancellation.IsCancellationRequested ? "canceled" : outcome ? "success" : "failed";
                if (job.Status == "failed") job.FailureReason = "script_failure";
                job.FinishedAt = store.Now;
                JobChanged?.Invoke(job);
            }
        }
        finally
        {
            runners?.Release();
        }
    }

    private Task<IAsyncDisposable> LockAsync(Pipeline pipeline) => store.LockAsync(store.ProjectById(pipeline.ProjectId));

    /// <summary>Marks what can no longer run, returns the jobs that can start now, and settles the pipeline's status when none can.</summary>
    private List<Job> Advance(Pipeline pipeline)
    {
        var ready = new List<Job>();
        var stages = specs[pipeline.Id].Stages.ToList();
        bool Blocking(Job j) => j.Status is "failed" or "canceled" && !j.AllowFailure;
        bool Done(Job j) => CiStatus.IsFinished(j.Status) || (j.Status == "manual" && j.AllowFailure);
        foreach (var job in pipeline.Jobs.Where(j => j.Status == "created").OrderBy(j => stages.IndexOf(j.Stage)))
        {
            if (pipeline.Cancellation.IsCancellationRequested) { Set(job, "canceled"); continue; }
            var before = job.Spec.Needs is { } needs
                ? pipeline.Jobs.Where(j => needs.Contains(j.Name)).ToList()
                : pipeline.Jobs.Where(j => stages.IndexOf(j.Stage) < stages.IndexOf(job.Stage)).ToList();
            if (before.Any(j => Blocking(j) || (job.Spec.Needs is not null && j.Status == "skipped"))) { Set(job, "skipped"); continue; }
            if (!before.All(Done)) continue;
            if (job.Spec.When == "manual") { Set(job, "manual"); continue; }
            ready.Add(job);
        }
        if (ready.Count > 0) return ready;
        var jobs = pipeline.Jobs;
        // While a stage's job still runs its pipeline is not over, whatever its siblings did (as GitLab's).
        var status =
            jobs.Any(j => j.Status == "running") ? "running"
            : jobs.Any(j => j.Status == "pending") ? "pending"
            : pipeline.Cancellation.IsCancellationRequested ? "canceled"
            : jobs.Any(Blocking) ? "failed"
            : jobs.Any(j => j.Status == "manual" && !j.AllowFailure) ? "manual"
            : jobs.All(j => CiStatus.IsFinished(j.Status) || j.Status == "manual") ? (jobs.All(j => j.Status is "skipped" or "manual") ? "skipped" : "success")
            : "running";
        if (status != pipeline.Status)
        {
            pipeline.Status = status;
            if (CiStatus.IsFinished(status)) pipeline.FinishedAt = store.Now;
            Touch(pipeline);
        }
        return ready;
    }

    private void Set(Job job, string status)
    {
        job.Status = status;
        if (CiStatus.IsFinished(status)) job.FinishedAt ??= store.Now;
        JobChanged?.Invoke(job);
    }

    private void Touch(Pipeline pipeline)
    {
        var status = pipeline.Jobs.Any(j => j.Status == "running") ? "running" : pipeline.Status;
        pipeline.Status = status;
        pipeline.UpdatedAt = store.Now;
        PipelineChanged?.Invoke(pipeline);
    }

    /// <summary>Under the project's lock.</summary>
    public void Cancel(Pipeline pipeline)
    {
        if (CiStatus.IsFinished(pipeline.Status)) return;
        pipeline.Cancellation.Cancel();
        foreach (var job in pipeline.Jobs.Where(j => j.Status is "created" or "pending" or "manual")) Set(job, "canceled");
        if (pipeline.Jobs.All(j => j.Status != "running"))
        {
            pipeline.Status = "canceled";
            pipeline.FinishedAt = store.Now;
            Touch(pipeline);
        }
        else _ = Task.Run(async () =>
        {
            // The running job is being killed; the run loop settles the pipeline when it returns.
            while (true)
            {
                await Task.Delay(50);
                await using (await LockAsync(pipeline))
                {
                    if (pipeline.Jobs.All(j => j.Status != "running")) { Advance(pipeline); return; }
                }
            }
        });
    }

    /// <summary>Under the project's lock: failed, canceled and skipped jobs run again as new jobs, as GitLab's retry does.</summary>
    public void Retry(Pipeline pipeline, User user)
    {
        var again = pipeline.Jobs.Where(j => j.Status is "failed" or "canceled" or "skipped").ToList();
        if (again.Count == 0 || !CiStatus.IsFinished(pipeline.Status)) return;
        pipeline.Cancellation = new CancellationTokenSource();
        foreach (var old in again)
        {
            var index = pipeline.Jobs.IndexOf(old);
            pipeline.Jobs.RemoveAt(index);
            var job = new Job { Id = store.NewId(), Name = old.Name, Stage = old.Stage, Pipeline = pipeline, Spec = old.Spec, CreatedAt = store.Now, UserId = user.Id };
            pipeline.Jobs.Insert(index, job);
            AllJobs[job.Id] = job;
        }
        pipeline.Status = "pending";
        pipeline.FinishedAt = null;
        Touch(pipeline);
        _ = Task.Run(() => RunAsync(pipeline));
    }

    /// <summary>
    /// The git side of a push: GitLab runs a branch pipeline unless asked not to (<c>skip_ci</c>, <c>-o ci.skip</c>,
    /// <c>[skip ci]</c>), with the push's <c>-o ci.variable</c>s as pipeline variables.
    /// </summary>
    public async Task OnPushAsync(Project project, string branch, string? before, string after, User user, PushOptions options)
    {
        if (options.SkipCi) return;
        var message = (await store.Repo(project).CommitAsync(after)).Message;
        if (message.Contains("[skip ci]", StringComparison.OrdinalIgnoreCase) || message.Contains("[ci skip]", StringComparison.OrdinalIgnoreCase)) return;
        await CreateAsync(project, branch, after, before ?? GitRef.Blank, "push", user, options.Variables);
    }
}
