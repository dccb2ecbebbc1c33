namespace Orchestrator.Domain.Trains;

/// <summary>
/// Image-aware: a bumped tag is built once, as soon as its merge request comes near the head, by a pipeline running
/// only its container jobs; every car testing it then starts on the pushed digest instead of building it again, and
/// the build is off the cars' critical path. A tag's contents are its merge request's image inputs (that is why the
/// tag was bumped), whatever lands ahead of it, so the build does not wait for the train.
/// </summary>
public static class ImageBuildProposer
{
    /// <summary>How far from the head, in budgets, a bump is built ahead of its car: near enough that it will be needed soon.</summary>
    public const int Lookahead = 2;

    public static IEnumerable<Proposal> Propose(TrainView view) =>
        view.Queue.Take(Lookahead * view.Policy.Budget)
            .Where(m => m.Bumps.Count > 0)
            .Select(m => new Proposal([m.Iid], [], [], $"builds {string.Join(", ", m.Bumps)} once, before any car needs it", ImageOnly: true));
}
