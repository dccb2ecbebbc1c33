using Orchestrator.Domain;
using Orchestrator.Hosting;
using Xunit;

namespace Orchestrator.Tests;

/// <summary>A policy set in configuration is the same policy the API stores: no setting silently dropped on the way.</summary>
public sealed class PolicySettingsTests
{
    [Fact]
    public void Given_the_policy_type_When_compared_with_its_configuration_Then_every_setting_has_a_home_there() =>
        Assert.Empty(typeof(ProjectPolicy).GetProperties().Select(p => p.Name)
            .Except(typeof(PolicySettings).GetProperties().Select(p => p.Name)));

    [Fact]
    public void Given_settings_that_differ_from_every_default_When_bound_Then_the_policy_carries_each_of_them()
    {
        var settings = new PolicySettings
        {
            Images = [new ImagePolicySettings { Name = "debian/x86_64_build", TagFile = "t.yml", TagKey = "TAG", Inputs = ["ci/**"], ForceVariable = "FORCE" }],
            UpstreamRepo = "mesa/mesa", RequiredApprovals = 2, CiTimeoutMinutes = 90, MaxRebases = 5, AllowUnbumpedInputs = true,
            TriggerLabel = "merge-me", AllowedCommanders = ["maintainer"], UnverifiedJobs = ["build"], ManualJobs = "wait",
            SkippedPipelines = "pass", StepTimeoutMinutes = 45, MergeOrder = MergeOrder.CreatedAt,
            Trailers = ["part-of"], NoteOnSuccess = false, UnassignOnMerge = true, ApprovalsResetOnPush = ApprovalsResetOnPush.Reapprove,
            Embargo = [new EmbargoSettings { From = "Fri 18:00", To = "Mon 08:00", TimeZone = "Europe/Berlin" }],
        };
        var policy = settings.ToPolicy();
        var defaults = new ProjectPolicy();
        foreach (var property in typeof(ProjectPolicy).GetProperties())
            Assert.NotEqual(System.Text.Json.JsonSerializer.Serialize(property.GetValue(defaults)),
                System.Text.Json.JsonSerializer.Serialize(property.GetValue(policy)));
    }
}
