using Orchestrator.Domain;
using JasperFx;
using JasperFx.Events;
using Marten;
using Npgsql;
using Weasel.Core;

namespace Orchestrator.Persistence;

public static class MartenSetup
{
    /// <summary>The store options shared by the silo, the tests and the benchmarks.</summary>
    public static void Configure(StoreOptions options, NpgsqlDataSource dataSource, string schema)
    {
        options.Connection(dataSource);
        options.DatabaseSchemaName = schema;
        options.Events.DatabaseSchemaName = schema;
        options.Events.StreamIdentity = StreamIdentity.AsString;
        // Each event's causation is the rule book that decided it (WorkflowRules.Tag): replay tells a rule changed since
        // from a record that no rule of its own time explains.
        options.Events.MetadataConfig.CausationIdEnabled = true;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase);
        foreach (var (type, name) in WorkflowEventNames.All) options.Events.MapEventType(type, name);
    }
}
