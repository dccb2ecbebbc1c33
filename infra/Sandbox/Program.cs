using Sandbox;
using Sandbox.Model;

var app = SandboxApp.Build(args);
await app.StartAsync();
var url = app.Urls.First();
await SandboxApp.StartServicesAsync(app, url);
// run.sh and the tests read this one line to find the sandbox.
Console.WriteLine($"sandbox: {url} {app.Services.GetRequiredService<SandboxStore>().AdminToken}");
await app.WaitForShutdownAsync();
