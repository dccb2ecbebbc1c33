namespace Orchestrator.Domain.Trains;

/// <summary>What a car would do about the images it runs on: build some, test on pushed digests, or wait.</summary>
/// <param name="Builds">Tags its pipeline builds.</param>
/// <param name="TestsOn">Pushed tags it tests on, with their digests.</param>
/// <param name="Wait">Why it cannot start yet, or null.</param>
/// <param name="KeepsPlace">It waits for a build in progress or due, so it keeps its place in the budget.</param>
public sealed record ImageNeeds(IReadOnlyList<string> Builds, IReadOnlyList<ImageDigest> TestsOn, string? Wait, bool KeepsPlace);

/// <summary>
/// The image rule for one proposed car. Without image awareness a pipeline builds every tag it needs that is not
/// pushed (as ci-templates does), however many other pipelines are building it. Image-aware, a tag is built once per
/// train: a car needing a tag another car or build is producing waits for its push and tests on that digest.
/// </summary>
public static class TrainImages
{
    public static ImageNeeds For(IReadOnlyList<QueuedMr> contents, IReadOnlyList<QueuedMr> own,
        IReadOnlyDictionary<string, string> pushed, IReadOnlyDictionary<string, string> building, bool imageAware)
    {
        var needed = TrainRules.ImagesNeeded(contents, own);
        var testsOn = needed.Where(pushed.ContainsKey).Select(t => new ImageDigest(t, pushed[t])).ToList();
        var builds = new List<string>();
        foreach (var tag in needed.Where(t => !pushed.ContainsKey(t)))
        {
            var bumper = contents.FirstOrDefault(m => m.Bumps.Contains(tag));
            if (bumper is null)
                return new ImageNeeds([], testsOn, $"it needs {tag}, which nothing it tests bumps and nobody pushed", false);
            if (imageAware && building.TryGetValue(tag, out var builder))
                return new ImageNeeds([], testsOn, $"it waits for {tag}, being built by {builder}, to test on its digest", true);
            if (imageAware && !own.Contains(bumper))
                return new ImageNeeds([], testsOn, $"it waits for {tag}, which the car of !{bumper.Iid} builds", true);
            builds.Add(tag);
        }
        return new ImageNeeds(builds, testsOn, null, false);
    }
}
