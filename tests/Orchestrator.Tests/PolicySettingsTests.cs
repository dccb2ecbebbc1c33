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
            Train = new TrainPolicySettings { Strategy = MergeTrainPolicy.MergeTrainStrategy, Depth = 3, MaxPipelines = 2 },
            Embargo = [new EmbargoSettings { From = "Fri 18:00", To = "Mon 08:00", TimeZone = "Europe/Berlin" }],
        };
        var policy = settings.ToPolicy();
        var defaults = new ProjectPolicy();
        foreach (var property in typeof(ProjectPolicy).GetProperties())
            Assert.NotEqual(System.Text.Json.JsonSerializer.Serialize(property.GetValue(defaults)),
                System.Text.Json.JsonSerializer.Serialize(property.GetValue(policy)));
    }

    [Theory]
    [InlineData("serial", 4, null, 0)]
    [InlineData("merge-train", 4, 2, 0)]
    [InlineData("merge-train", 20, null, 0)]
    [InlineData("bors", 4, null, 1)]
    [InlineData("merge-train", 0, null, 1)]
    [InlineData("merge-train", 21, 0, 2)]
    public void Given_a_train_policy_When_validated_Then_only_a_known_strategy_and_sane_sizes_pass(string strategy, int depth, int? pipelines, int problems) =>
        Assert.Equal(problems, new ProjectPolicy(Train: new MergeTrainPolicy(strategy, depth, pipelines)).Validate().Count);

    [Fact]
    public void Given_a_merge_train_When_the_policy_also_approves_again_Then_it_is_refused()
    {
        var train = new MergeTrainPolicy(MergeTrainPolicy.MergeTrainStrategy, 4);
        Assert.Empty(new ProjectPolicy([new ImagePolicy("debian/x86_64_build", "t.yml", "TAG", [])], "mesa/mesa", Train: train).Validate());
        var reapprove = new ProjectPolicy(ApprovalsResetOnPush: ApprovalsResetOnPush.Reapprove, Train: train).Validate();
        Assert.Contains(reapprove, e => e.StartsWith("train.strategy merge-train cannot be used with approvalsResetOnPush reapprove"));
        Assert.Empty(new ProjectPolicy(ApprovalsResetOnPush: ApprovalsResetOnPush.Reapprove).Validate());
    }

    [Theory]
    [InlineData("ff", false, true)]
    [InlineData("ff", true, false)]
    [InlineData("merge", false, true)]
    [InlineData("merge", true, false)]
    [InlineData("rebase_merge", false, true)]
    [InlineData("rebase_merge", true, false)]
    [InlineData(null, false, false)]
    public void Given_a_merge_request_When_asked_whether_it_rides_a_train_Then_only_a_same_project_mr_does_whatever_the_merge_method(
        string? method, bool fork, bool rides) =>
        Assert.Equal(rides, TrainCarRules.Rides(method, fork));

    [Fact]
    public void Given_no_train_policy_When_read_Then_it_is_serial_and_a_merge_train_defaults_its_pipelines_to_its_depth()
    {
        Assert.False(new ProjectPolicy().Train.IsTrain);
        var train = System.Text.Json.JsonSerializer.Deserialize<ProjectPolicy>("""{"train":{"strategy":"merge-train","depth":3}}""",
            new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!.Train;
        Assert.Equal((true, 3, 3), (train.IsTrain, train.Depth, train.Pipelines));
        Assert.Equal((Orchestrator.Domain.Trains.TrainStrategy.MergeTrain, 3, 3), (train.ToPlanner().Strategy, train.ToPlanner().Budget, train.ToPlanner().InitialWindow));
    }
}
