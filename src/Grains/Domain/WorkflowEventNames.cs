namespace Orchestrator.Domain;

/// <summary>
/// The names under which events are stored. These are a migration contract: a stored stream is read
/// back by these names, so renaming a C# type is free and renaming an entry here is not.
/// </summary>
public static class WorkflowEventNames
{
    public static readonly IReadOnlyDictionary<Type, string> All = new Dictionary<Type, string>
    {
        [typeof(MergeRequested)] = "merge_requested",
        [typeof(RebaseStarted)] = "rebase_started",
        [typeof(Rebased)] = "rebased",
        [typeof(FreshnessChecked)] = "freshness_checked",
        [typeof(PipelineCreated)] = "pipeline_created",
        [typeof(PipelineObserved)] = "pipeline_observed",
        [typeof(BuildVerified)] = "build_verified",
        [typeof(TargetMoved)] = "target_moved",
        [typeof(ImagePromoted)] = "image_promoted",
        [typeof(PromotionUndone)] = "promotion_undone",
        [typeof(MergeRefused)] = "merge_refused",
        [typeof(Merged)] = "merged",
        [typeof(AttemptFailed)] = "attempt_failed",
        [typeof(AttemptCancelled)] = "attempt_cancelled",
        [typeof(BuildRejected)] = "build_rejected",
        [typeof(CiTimedOut)] = "ci_timed_out",
        [typeof(OutcomeNoted)] = "outcome_noted",
        [typeof(PermissionChecked)] = "permission_checked",
        [typeof(RequestRefused)] = "request_refused",
        [typeof(UpstreamImageCleaned)] = "upstream_image_cleaned",
        [typeof(UpstreamCleanupChosen)] = "upstream_cleanup_chosen",
        [typeof(StaleTagsChosen)] = "stale_tags_chosen",
        [typeof(PipelinePrepared)] = "pipeline_prepared",
        [typeof(RegistryTampered)] = "registry_tampered",
        [typeof(RegistryTagRestored)] = "registry_tag_restored",
        [typeof(RegistryChecked)] = "registry_checked",
        [typeof(MergedElsewhere)] = "merged_elsewhere",
        [typeof(StepTimedOut)] = "step_timed_out",
        [typeof(RebaseStopped)] = "rebase_stopped",
        [typeof(StepErrored)] = "step_errored",
        [typeof(FinishingAbandoned)] = "finishing_abandoned",
        [typeof(MergeEmbargoed)] = "merge_embargoed",
        [typeof(RewritePlanned)] = "rewrite_planned",
        [typeof(RewriteFailed)] = "rewrite_failed",
        [typeof(UpstreamTagTaken)] = "upstream_tag_taken",
        [typeof(ReapprovalChecked)] = "reapproval_checked",
        [typeof(ApprovalResetObserved)] = "approval_reset_observed",
        [typeof(TrainCarAssigned)] = "train_car_assigned",
        [typeof(TrainCarAnnounced)] = "train_car_announced",
        [typeof(TrainCarAtHead)] = "train_car_at_head",
        [typeof(TrainCarRejected)] = "train_car_rejected",
        [typeof(TrainMergePreviewed)] = "train_merge_previewed",
        [typeof(TrainCarLandingChecked)] = "train_car_landing_checked",
        [typeof(TrainBranchUpdated)] = "train_branch_updated",
        [typeof(TrainCarsAheadChecked)] = "train_cars_ahead_checked",
        [typeof(TrainCarImagesSeen)] = "train_car_images_seen",
        [typeof(TrainBumpsObserved)] = "train_bumps_observed",
    };

    /// <summary>The stored name: the one <c>/events</c>, the timeline and replay all show.</summary>
    public static string NameOf(IWorkflowEvent e) => All[e.GetType()];
}
