namespace Orchestrator.Domain.Trains;

/// <summary>
/// The chance a merge request's pipeline passes, as SubmitQueue orders its speculation: the author's recent pass
/// rate sets the odds of a failure, a larger change and one touching image inputs raise them. An author whose recent
/// merge requests all passed is predicted to pass, so a healthy queue wastes no budget on doubt.
/// </summary>
public static class SuccessPredictor
{
    /// <summary>Lines changed at which size neither raises nor lowers the odds.</summary>
    public const int TypicalLines = 100;

    public static double Predict(double authorPassRate, int linesChanged, bool touchesImageInputs)
    {
        var failure = (1 - Math.Clamp(authorPassRate, 0, 1)) * SizeWeight(linesChanged) * (touchesImageInputs ? 1.5 : 1.0);
        return 1 - Math.Min(0.95, failure);
    }

    /// <summary>Twice the lines, about 1.4 times the odds, within a factor of 2 either way.</summary>
    public static double SizeWeight(int linesChanged) => Math.Clamp(Math.Sqrt(Math.Max(1, linesChanged) / (double)TypicalLines), 0.5, 2.0);

    /// <summary>Recent pass rate with a prior worth <paramref name="priorWeight"/> merge requests at <paramref name="prior"/>, so a newcomer is not judged by one result.</summary>
    public static double PassRate(int passed, int failed, double prior = 0.9, double priorWeight = 5) =>
        (passed + prior * priorWeight) / (passed + failed + priorWeight);
}
