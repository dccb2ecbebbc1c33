using Sandbox.Api;
using Sandbox.Ci;
using Sandbox.Git;
using Sandbox.GitHttp;
using Sandbox.Hooks;
using Sandbox.Http;
using Sandbox.Model;
using Sandbox.Registry;

namespace Sandbox;

public static class SandboxApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Services.Configure<SandboxOptions>(builder.Configuration.GetSection(SandboxOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SandboxStore>();
        builder.Services.AddSingleton<Views>();
        builder.Services.AddSingleton<MergeRequestService>();
        builder.Services.AddSingleton<CiViews>();
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<RegistryProcess>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RegistryProcess>());
        builder.Services.AddSingleton<JobExecutor>();
        builder.Services.AddSingleton<PipelineService>();
        builder.Services.AddSingleton<MergeRequestPipelines>();
        builder.Services.AddHttpClient("registry");
        builder.Services.AddHttpClient("webhooks");
        builder.Services.AddSingleton<Faults>();
        builder.Services.AddSingleton<WebhookDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        builder.Services.AddSingleton<WebhookEvents>();
        builder.Services.AddSingleton<PushSessions>();
        builder.Services.AddSingleton<GitHttpSettings>();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseGitLabErrors();
        app.UseFaults();
        app.MapUsersApi();
        app.MapProjectsApi();
        app.MapRepositoryApi();
        app.MapProtectedBranchesApi();
        app.MapMergeRequestsApi();
        app.MapResourceLabelEventsApi();
        app.MapPipelinesApi();
        app.MapCiLintApi();
        app.MapContainerRegistryApi();
        app.MapJwtAuthApi();
        app.MapHooksApi();
        app.MapAdminApi();
        app.MapInternalAllowedApi();
        app.MapGitHttp();

        // Pushes made through git, the API, rebases and merges run branch pipelines and send push hooks; a push to an
        // open MR's source branch is also a merge request "update", as on GitLab. A deleted branch only sends its hook.
        var store = app.Services.GetRequiredService<SandboxStore>();
        var merges = app.Services.GetRequiredService<MergeRequestService>();
        var pipelines = app.Services.GetRequiredService<PipelineService>();
        var hooks = app.Services.GetRequiredService<WebhookEvents>();
        merges.BranchPushed = async (project, branch, before, after, user, options) =>
        {
            await hooks.PushAsync(project, branch, before, after, user);
            if (GitRef.IsBlank(after)) return;
            foreach (var mr in store.MergeRequests.Where(m => m.State == "opened" && m.SourceProjectId == project.Id && m.SourceBranch == branch).ToList())
            {
                mr.UpdatedAt = store.Now;
                // Commits added to the source branch remove every approval where the target project says so, except GitLab's own
                // rebase (ResetApprovalsService#reset_approvals?: rebase_commit_sha != newrev). See the README for what is not modelled.
                if (store.ProjectById(mr.TargetProjectId).ResetApprovalsOnPush && after != mr.RebaseCommitSha) mr.ApprovedBy.Clear();
                await hooks.MergeRequestAsync(mr, "update", user, oldrev: before);
            }
            await pipelines.OnPushAsync(project, branch, before, after, user, options);
        };
        merges.MergeRequestChanged = hooks.MergeRequestAsync;
        pipelines.PipelineChanged += hooks.Pipeline;
        pipelines.JobChanged += hooks.Job;
        return app;
    }

    /// <summary>After the sandbox listens: it knows its URL, which is the registry's token realm.</summary>
    public static async Task StartServicesAsync(WebApplication app, string url)
    {
        var store = app.Services.GetRequiredService<SandboxStore>();
        store.ExternalUrl = string.IsNullOrEmpty(store.Options.ExternalUrl) ? url : store.Options.ExternalUrl;
        // The pre-receive hook runs on this machine: it calls the address the sandbox listens on, not the public one.
        app.Services.GetRequiredService<GitHttpSettings>().CallbackUrl = url.TrimEnd('/');
        await app.Services.GetRequiredService<RegistryProcess>().StartAsync($"{store.ExternalUrl.TrimEnd('/')}/jwt/auth");
    }
}
