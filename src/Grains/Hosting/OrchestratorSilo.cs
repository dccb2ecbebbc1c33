using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orchestrator.Adapters;
using Orchestrator.Persistence;

namespace Orchestrator;

/// <summary>Everything a silo needs to host the orchestrator's grains; shared by the silo, the tests and the benchmarks.</summary>
public static class OrchestratorSilo
{
    private const string JournalConnections = "journal";

    public static ISiloBuilder AddOrchestrator(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOrchestratorOptions(configuration);
        services.AddOrchestratorPersistence();
        services.TryAddSingleton(TimeProvider.System);
        silo.AddReminders();
        services.AddSingleton<IReminderTable, PostgresReminderTable>();
        // A wake-up period under Orleans' one-minute floor (tests, the sandbox) lowers the floor with it.
        services.AddOptions<Orleans.Hosting.ReminderOptions>().Configure<IOptions<Hosting.OrchestratorOptions>>((reminders, o) =>
        {
            if (o.Value.Workflow.ReminderPeriod < reminders.MinimumReminderPeriod) reminders.MinimumReminderPeriod = o.Value.Workflow.ReminderPeriod;
        });
        services.AddOrchestratorWorkflow();
        return silo;
    }

    /// <summary>Several silos on one PostgreSQL: membership in the database, endpoints on the advertised address.</summary>
    public static ISiloBuilder UsePostgresClustering(this ISiloBuilder silo, Hosting.ClusterSettings cluster)
    {
        silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        silo.ConfigureEndpoints(System.Net.IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: false);
        silo.Services.AddSingleton<IMembershipTable, PostgresMembershipTable>();
        if (cluster.FastFailureDetection)
            silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            });
        return silo;
    }

    /// <summary>The shell of the workflow: GitLab and registry adapters (with retries), policies, the driver.</summary>
    public static IServiceCollection AddOrchestratorWorkflow(this IServiceCollection services)
    {
        services.TryAddSingleton<Workflow.PolicyStore>();
        services.TryAddSingleton<Workflow.IPolicyStore>(sp => sp.GetRequiredService<Workflow.PolicyStore>());
        services.TryAddSingleton<Workflow.WorkflowDriver>();
        // With no GitLab configured there is nothing to drive: requests are recorded and wait.
        services.TryAddSingleton<Workflow.IWorkflowDriver>(sp =>
            string.IsNullOrEmpty(sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value.GitLab.BaseUrl)
                ? new Workflow.ParkedDriver() : sp.GetRequiredService<Workflow.WorkflowDriver>());
        services.TryAddSingleton<Workflow.PermissionObserver>();
        services.TryAddSingleton<Workflow.ReapprovalObserver>();
        services.TryAddSingleton<Persistence.ITamperLedger, Persistence.MartenTamperLedger>();
        services.TryAddSingleton<Workflow.TargetPipeline>();
        services.TryAddSingleton<Workflow.PolicySuggester>();
        services.AddHostedService<Workflow.Reconciliation>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, Workflow.ResumeOnStart>();
        services.AddHttpClient<Adapters.IGitLabClient, Adapters.GitLabClient>((sp, http) =>
            {
                var gitlab = sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value.GitLab;
                if (!string.IsNullOrEmpty(gitlab.BaseUrl)) http.BaseAddress = new Uri(gitlab.BaseUrl.TrimEnd('/') + "/api/v4/");
                if (!string.IsNullOrEmpty(gitlab.BotToken)) http.DefaultRequestHeaders.Add("PRIVATE-TOKEN", gitlab.BotToken);
            })
            // .NET drops only Authorization on a redirect: a PRIVATE-TOKEN would follow one to any host.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .AddOrchestratorRetries();
        // The administrator's token has a client of its own: the bot's client above never carries it, nor sudo.
        services.AddHttpClient<Adapters.IGitLabImpersonation, Adapters.GitLabImpersonation>((sp, http) =>
            {
                var gitlab = sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value.GitLab;
                if (!string.IsNullOrEmpty(gitlab.BaseUrl)) http.BaseAddress = new Uri(gitlab.BaseUrl.TrimEnd('/') + "/api/v4/");
                if (!string.IsNullOrEmpty(gitlab.AdminToken)) http.DefaultRequestHeaders.Add("PRIVATE-TOKEN", gitlab.AdminToken);
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .AddOrchestratorRetries();
        services.AddHttpClient("registry").AddOrchestratorRetries();
        services.TryAddSingleton<Adapters.IImageRegistry>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value;
            var credentials = new Adapters.RegistryCredentials(new Uri(o.Registry.Url ?? "http://registry.invalid"), o.GitLab.BotUsername, o.GitLab.BotToken ?? "");
            return new Adapters.RegistryClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient("registry"), credentials);
        });
        services.TryAddSingleton<Adapters.Git.IGitWorker>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value;
            var root = string.IsNullOrWhiteSpace(o.Git.MirrorRoot) ? Path.Combine(Path.GetTempPath(), "orchestrator-git") : o.Git.MirrorRoot;
            var settings = new Adapters.Git.GitWorkerSettings(new Uri(string.IsNullOrEmpty(o.GitLab.BaseUrl) ? "http://gitlab.invalid" : o.GitLab.BaseUrl), o.GitLab.BotToken ?? "", root,
                o.Git.Executable, o.Git.CommandTimeout);
            return new Adapters.Git.GitWorker(settings, sp.GetRequiredService<ILogger<Adapters.Git.GitWorker>>());
        });
        return services;
    }

    public static IServiceCollection AddOrchestratorOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Hosting.OrchestratorOptions>()
            .Bind(configuration.GetSection(Hosting.OrchestratorOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Hosting.OrchestratorOptions>, Hosting.OrchestratorOptionsValidator>());
        return services;
    }

    private static NpgsqlDataSource DataSource(IServiceProvider sp, int? maxPoolSize)
    {
        var options = sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value;
        var builder = new NpgsqlDataSourceBuilder(options.Postgres.ConnectionString);
        // The same few statements run for every delivery: prepared once per connection, PostgreSQL parses and
        // plans them once (unless the connection string says otherwise).
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
        // Nothing here leaves state on a session (no SET, LISTEN, session advisory lock or temporary table), so a pooled
        // connection is handed on as it is, without the seven-statement reset PostgreSQL would run at every reuse.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        if (maxPoolSize is { } most) builder.ConnectionStringBuilder.MaxPoolSize = Math.Min(builder.ConnectionStringBuilder.MaxPoolSize, most);
        builder.ConfigureTracing(t => t.EnableFirstResponseEvent(false));
        return builder.Build();
    }

    private static Hosting.PostgresOptions Postgres(IServiceProvider sp) => sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value.Postgres;

    public static IServiceCollection AddOrchestratorPersistence(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => DataSource(sp, maxPoolSize: null));
        services.TryAddSingleton(sp => new PostgresSchema(sp.GetRequiredService<IOptions<Hosting.OrchestratorOptions>>().Value.Postgres.Schema));
        services.AddMarten(sp =>
        {
            var store = new StoreOptions();
            MartenSetup.Configure(store, sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<PostgresSchema>().Name);
            foreach (var (type, name) in Domain.Trains.TrainEventNames.All) store.Events.MapEventType(type, name);
            return store;
        });
        // The journal's group commit and batched reads on a pool of their own, as small as their loops (two writers, two
        // readers): the shared pool hands out its idle connections in turn, so each batch woke another of a dozen
        // PostgreSQL backends, cold; on a few, the intake cost PostgreSQL about a fifth less CPU per delivery.
        services.TryAddKeyedSingleton(JournalConnections, (sp, _) => DataSource(sp, maxPoolSize: 2 * Postgres(sp).JournalWriters));
        services.TryAddSingleton(sp => new WorkflowJournal(sp.GetRequiredService<IDocumentStore>(),
            sp.GetRequiredKeyedService<NpgsqlDataSource>(JournalConnections), sp.GetRequiredService<PostgresSchema>(),
            new BatchOptions(MaxDelay: Postgres(sp).JournalLinger, Writers: Postgres(sp).JournalWriters)));
        services.TryAddSingleton<MergeRequestIndex>();
        services.TryAddSingleton<OperationsReadModel>();
        services.TryAddSingleton<Statistics.StatisticsQuery>();
        services.TryAddSingleton<PipelineWatches>();
        services.TryAddSingleton<IPipelineWatches>(sp => sp.GetRequiredService<PipelineWatches>());
        services.TryAddSingleton<WebhookDeliveries>();
        services.AddHostedService<DeliveryKeyPruning>();
        return services;
    }
}
