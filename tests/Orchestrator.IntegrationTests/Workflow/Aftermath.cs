using System.Diagnostics;
using Orchestrator.Domain;
using Xunit;

namespace Orchestrator.IntegrationTests.Workflow;

/// <summary>
/// What people see once an attempt has ended, all in one look: the bot's outcome note, who the MR is assigned to, the
/// pipelines the case added to the MR and their states, main's head, and how long the case took. Each odd case checks
/// all of it. <see cref="Watch"/> before the case, <see cref="CaseWatch.Outcome"/> after.
/// </summary>
public sealed record Aftermath(string Note, IReadOnlyList<string> Assignees, IReadOnlyList<string> NewPipelines, string MainBefore, string MainHead,
    TimeSpan Took)
{
    public sealed class CaseWatch(WorkflowHarness h, long iid, IReadOnlySet<long> pipelinesBefore, string mainBefore)
    {
        private readonly Stopwatch watch = Stopwatch.StartNew();

        public async Task<Aftermath> Outcome()
        {
            var took = watch.Elapsed;
            var maintainer = h.As("maintainer");
            var notes = (await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}/notes")).AsArray()
                .Select(n => n!["body"]!.GetValue<string>()).Where(b => b.Contains(Markers.NotePrefix)).ToList();
            var mr = await h.Get(maintainer, $"projects/{h.Upstream}/merge_requests/{iid}");
            var added = (await Pipelines(h, iid)).Where(p => !pipelinesBefore.Contains(p.Id)).Select(p => p.Status).ToList();
            // Seeded users' names carry the world's suffix: speak of them by their role (bob, maintainer, …).
            var roles = h.Seed["users"]!.AsObject().ToDictionary(u => u.Value!["username"]!.GetValue<string>(), u => u.Key);
            var assignees = mr["assignees"]!.AsArray().Select(a => a!["username"]!.GetValue<string>()).Select(u => roles.GetValueOrDefault(u, u));
            return new Aftermath(Assert.Single(notes), [.. assignees],
                added, mainBefore, await h.MainHead(), took);
        }
    }

    public static async Task<CaseWatch> Watch(WorkflowHarness h, long iid) =>
        new(h, iid, (await Pipelines(h, iid)).Select(p => p.Id).ToHashSet(), await h.MainHead());

    private static async Task<IReadOnlyList<(long Id, string Status)>> Pipelines(WorkflowHarness h, long iid) =>
        [.. (await h.Get(h.As("maintainer"), $"projects/{h.Upstream}/merge_requests/{iid}/pipelines")).AsArray()
            .Select(p => (p!["id"]!.GetValue<long>(), p["status"]!.GetValue<string>()))];

    public Aftermath Says(string words)
    {
        Assert.Contains(words, Note);
        return this;
    }

    /// <summary>Assigned to exactly these seeded users, by role (none: nobody).</summary>
    public Aftermath AssignedTo(params string[] roles)
    {
        Assert.Equal(roles.Order(), Assignees.Order());
        return this;
    }

    /// <summary>The pipelines this case added to the MR, by state (none: nothing ran for it).</summary>
    public Aftermath WithNewPipelines(params string[] statuses)
    {
        Assert.Equal(statuses.Order(), NewPipelines.Order());
        return this;
    }

    public Aftermath MainUnchanged()
    {
        Assert.Equal(MainBefore, MainHead);
        return this;
    }

    public Aftermath Within(TimeSpan limit)
    {
        Assert.True(Took < limit, $"the case took {Took}, more than {limit}");
        return this;
    }
}
