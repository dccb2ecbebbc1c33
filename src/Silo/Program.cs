using Orchestrator.Api;
using Orchestrator.Silo;

// Settings sit beside the binary, wherever run.sh or a service manager starts it from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddOrchestratorHost();

var app = builder.Build();
app.UseOrchestratorErrors();
app.MapOrchestratorApi();
app.Run();

/// <summary>Exposed for WebApplicationFactory in the integration tests.</summary>
public partial class Program;
