using Sandbox.Api;
using Sandbox.Http;
using Sandbox.Model;

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
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseGitLabErrors();
        app.MapUsersApi();
        app.MapProjectsApi();
        app.MapRepositoryApi();
        app.MapMergeRequestsApi();
        return app;
    }
}
