using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Sandbox.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Sandbox.Tests.Contract;

/// <summary>Who may merge, push and label: protected branches, members and label events against GitLab's documented examples.</summary>
public sealed class TrustContractTests(SandboxHost host, ITestOutputHelper output) : IClassFixture<SandboxHost>
{
    public static readonly string[] Covered =
        ["project_member.all.json", "protected_branch.json", "protected_branches.list.json", "resource_label_events.list.json"];

    [Fact]
    public async Task Given_protection_rules_When_read_Then_single_and_list_match_gitlabs_protected_branch_examples()
    {
        var w = await World.CreateAsync(host, "trust1");
        var id = w.Upstream.Long("id");
        var release = await w.Maintainer.Post($"projects/{id}/protected_branches", new { name = "release/*", merge_access_level = 30 });

        var single = await w.Maintainer.Get($"projects/{id}/protected_branches/main");
        var list = await w.Maintainer.Get($"projects/{id}/protected_branches");

        AssertShape("protected_branch.json", single);
        AssertShape("protected_branches.list.json", list);
        Assert.Equal("main", single.Str("name"));
        Assert.Equal((40, "Maintainers"), Level(single["push_access_levels"]![0]!));
        Assert.Equal((40, "Maintainers"), Level(single["merge_access_levels"]![0]!));
        Assert.Equal((40, "Maintainers"), Level(release["push_access_levels"]![0]!));
        Assert.Equal((30, "Developers + Maintainers"), Level(release["merge_access_levels"]![0]!));
        Assert.Equal(["main", "release/*"], list.AsArray().Select(p => p!.Str("name")));
    }

    [Fact]
    public async Task Given_a_member_added_by_the_maintainer_When_read_through_members_all_Then_it_matches_gitlabs_member_example_and_a_stranger_is_404()
    {
        var w = await World.CreateAsync(host, "trust2");
        var id = w.Upstream.Long("id");
        var (_, developer) = await w.Member("dev", 30);
        var maintainer = await w.Maintainer.Get("user");
        var stranger = await w.Stranger.Get("user");

        var member = await w.Admin.Get($"projects/{id}/members/all/{developer.Long("id")}");
        var notMember = await w.Maintainer.Get($"projects/{id}/members/all/{stranger.Long("id")}", HttpStatusCode.NotFound);

        AssertShape("project_member.all.json", member);
        Assert.Equal(developer.Str("username"), member.Str("username"));
        Assert.Equal(30, member.Long("access_level"));
        Assert.Equal(maintainer.Str("username"), member["created_by"]!.Str("username"));
        Assert.Equal("404 Not found", notMember.Str("message"));
    }

    [Fact]
    public async Task Given_labels_added_and_removed_When_label_events_are_read_Then_they_match_gitlabs_resource_label_events_example()
    {
        var w = await World.CreateAsync(host, "trust3");
        var id = w.Upstream.Long("id");
        await w.Maintainer.Post($"projects/{id}/repository/commits", World.Commit("topic", "topic", "t.txt", "t\n", startBranch: "main"));
        var mr = await w.Maintainer.Post($"projects/{id}/merge_requests", new { source_branch = "topic", target_branch = "main", title = "Labels", labels = "ci" });
        await w.Maintainer.Put($"projects/{id}/merge_requests/{mr.Long("iid")}", new { remove_labels = "ci" });

        var events = await w.Maintainer.Get($"projects/{id}/merge_requests/{mr.Long("iid")}/resource_label_events");

        // A label made from a title on first use has no description; GitLab sends null then.
        AssertShape("resource_label_events.list.json", events, "$[].label.description");
        Assert.Equal([("add", "ci"), ("remove", "ci")], events.AsArray().Select(e => (e!.Str("action"), e!["label"]!.Str("name"))));
        Assert.All(events.AsArray(), e => Assert.Equal(mr.Long("id"), e!.Long("resource_id")));
    }

    private static (long, string) Level(JsonNode access) => (access.Long("access_level"), access.Str("access_level_description"));

    private void AssertShape(string fixture, JsonNode actual, params string[] nullable)
    {
        var problems = Shape.Differences(Fixtures.GitLabApi(fixture), actual, new HashSet<string>(nullable));
        foreach (var p in problems) output.WriteLine(p);
        Assert.Empty(problems);
    }
}
