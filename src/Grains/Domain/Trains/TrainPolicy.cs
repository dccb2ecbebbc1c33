namespace Orchestrator.Domain.Trains;

/// <summary>How a branch's train chooses its speculative work; every strategy only proposes, the planner decides.</summary>
[GenerateSerializer, Alias("trains.TrainStrategy")]
public enum TrainStrategy
{
    /// <summary>One merge request at a time on the real branch: today's behaviour.</summary>
    Serial,
    /// <summary>GitLab merge trains: a fixed number of cars, each on top of all ahead; everything behind a failure rebuilt.</summary>
    MergeTrain,
    /// <summary>bors: several merge requests per car; a failed batch is split in halves until the culprit is alone.</summary>
    Batch,
    /// <summary>SubmitQueue: the budget goes to the speculations most likely to be needed, by predicted success.</summary>
    BestFirst,
    /// <summary>Zuul: a merge train whose depth grows by one per landing and halves per rejection.</summary>
    AdaptiveDepth,
    /// <summary>Best-first, and one build per bumped tag: a car needing a tag being built starts once it was pushed.</summary>
    ImageAwareBestFirst,
}

// Budget: Pipelines the train may run at once.
// BatchSize: Merge requests per car for TrainStrategy.Batch.
// MinWindow: The depth TrainStrategy.AdaptiveDepth never shrinks below.
// Depth: Cars a merge train proposes (default: the budget).
// BuildsOnce: Image-aware cars for any strategy (GitLab trains of projects with images): a bumped tag is built by the
//   first car testing its merge request, and cars needing it wait for its push (no build-only pipeline).
[GenerateSerializer, Alias("trains.TrainPolicy")]
public sealed record TrainPolicy(
    [property: Id(0)] TrainStrategy Strategy,
    [property: Id(1)] int Budget,
    [property: Id(2)] int BatchSize = 4,
    [property: Id(3)] int MinWindow = 1,
    [property: Id(4)] int? Depth = null,
    [property: Id(5)] bool BuildsOnce = false)
{
    public bool ImageAware => Strategy == TrainStrategy.ImageAwareBestFirst || BuildsOnce;

    /// <summary>
    /// Whether a build goes on when its car is cancelled. Only the simulated build-only pipelines of image-aware
    /// best-first do; on GitLab a cancelled pipeline stops its build job too, so its tag is built again by the next car.
    /// </summary>
    public bool BuildsOutliveCars => Strategy == TrainStrategy.ImageAwareBestFirst;

    /// <summary>
    /// Whether a tag pushed by a car that stops without landing (rejected, or rebuilt) is forgotten. On GitLab it is: the
    /// image was built from that car's head, which is in no later car's history (the freshness rule would not let them
    /// use it), and an attempt that fails deletes what it built.
    /// </summary>
    public bool PushesDieWithTheirCar => BuildsOnce;

    /// <summary>The depth a train starts with: serial tests one car, the others as many as the budget allows.</summary>
    /// <remarks>A merge train may be deeper than its budget: a car that passed waits for those ahead without a pipeline.</remarks>
    public int InitialWindow => Strategy == TrainStrategy.Serial ? 1 : Depth ?? Budget;
}
