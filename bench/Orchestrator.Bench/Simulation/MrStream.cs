using Orchestrator.Domain.Trains;

namespace Orchestrator.Bench.Simulation;

/// <summary>A synthetic merge request: what the planner is told (author, size, bump) and the hidden truth (whether it breaks CI).</summary>
public sealed record SyntheticMr(long Iid, int Author, int Lines, string? Bump, bool Breaks);

/// <summary>
/// The same stream for every strategy: merge request n is drawn n-th from one seeded generator, so strategies differ
/// only in what they do with it. A merge request breaks CI with a chance proportional to its author's hidden
/// carelessness, a power of its size and 1.5 when it touches image inputs, scaled so the mean is p. The planner never
/// sees that chance: it predicts from the author's last 20 results in this run, the size and the bump.
/// </summary>
public sealed class MrStream
{
    // Hidden per-author factors (mean about 1): some authors break CI far more often than others.
    private static readonly double[] Carelessness = [0.2, 0.4, 0.5, 0.6, 0.8, 1.0, 1.0, 1.2, 1.4, 1.6, 2.0, 2.3];
    private readonly Random random;
    private readonly double failureShare, bumpShare, scale;
    private long next = 1;

    public MrStream(int seed, double failureShare, double bumpShare)
    {
        (random, this.failureShare, this.bumpShare) = (new Random(seed), failureShare, bumpShare);
        // The mean of the unscaled chance over the same distributions, from its own fixed generator.
        var sample = new Random(seed ^ 0x5eed);
        scale = Enumerable.Range(0, 20_000).Average(_ =>
            Weight(sample.Next(Carelessness.Length), Lines(sample), sample.NextDouble() < bumpShare));
    }

    public static int Authors => Carelessness.Length;

    public SyntheticMr Next()
    {
        var iid = next++;
        var author = random.Next(Carelessness.Length);
        var lines = Lines(random);
        var bumps = random.NextDouble() < bumpShare;
        var chance = Math.Min(0.9, failureShare * Weight(author, lines, bumps) / scale);
        return new SyntheticMr(iid, author, lines, bumps ? $"image:{iid}" : null, random.NextDouble() < chance);
    }

    // Log-normal sizes around 100 lines.
    private static int Lines(Random r)
    {
        var normal = Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        return (int)Math.Clamp(Math.Round(Math.Exp(Math.Log(100) + normal)), 1, 20_000);
    }

    private static double Weight(int author, int lines, bool bumps) =>
        Carelessness[author] * Math.Clamp(Math.Pow(lines / 100.0, 0.4), 0.4, 2.5) * (bumps ? 1.5 : 1.0);

    /// <summary>What the shell would tell the planner about it.</summary>
    public static QueuedMr Queued(SyntheticMr mr, double authorPassRate) =>
        new(mr.Iid, SuccessPredictor.Predict(authorPassRate, mr.Lines, mr.Bump is not null), mr.Bump is null ? [] : [mr.Bump], []);
}
