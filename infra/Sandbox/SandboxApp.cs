using Sandbox.Api;
using Sandbox.Ci;
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
        builder.Services.AddHttpClient("registry");
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseGitLabErrors();
        app.MapUsersApi();
        app.MapProjectsApi();
        app.MapRepositoryApi();
        app.MapMergeRequestsApi();
        app.MapPipelinesApi();
        app.MapContainerRegistryApi();
        app.MapJwtAuthApi();

        // Pushes made through the API (and by rebases and merges) run branch pipelines, as on GitLab.
        var merges = app.Services.GetRequiredService<MergeRequestService>();
        var pipelines = app.Services.GetRequiredService<PipelineService>();
        merges.BranchPushed = pipelines.OnPushAsync;
        return app;
    }

    /// <summary>After the sandbox listens: it knows its URL, which is the registry's token realm.</summary>
    public static async Task StartServicesAsync(WebApplication app, string url)
    {
        var store = app.Services.GetRequiredService<SandboxStore>();
        store.ExternalUrl = string.IsNullOrEmpty(store.Options.ExternalUrl) ? url : store.Options.ExternalUrl;
        await app.Services.GetRequiredService<RegistryProcess>().StartAsync($"{store.ExternalUrl.TrimEnd('/')}/jwt/auth");
    }
}
