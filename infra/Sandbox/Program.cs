using Sandbox;
using Sandbox.Model;

var app = SandboxApp.Build(args);
app.Lifetime.ApplicationStarted.Register(() =>
{
    var store = app.Services.GetRequiredService<SandboxStore>();
    var url = app.Urls.First();
    store.ExternalUrl = string.IsNullOrEmpty(store.Options.ExternalUrl) ? url : store.Options.ExternalUrl;
    // run.sh and the tests read this one line to find the sandbox.
    Console.WriteLine($"sandbox: {url} {store.AdminToken}");
});
app.Run();
