namespace Orchestrator.Domain;

/// <summary>What the freshness check concluded about one image the merge request defines.</summary>
[GenerateSerializer, Alias("FreshnessVerdict")]
public enum FreshnessVerdict
{
    /// <summary>The tag exists upstream and its <c>fdo.commit</c> is in the target branch's history.</summary>
    Upstream = 0,
    /// <summary>Built on top of the target HEAD from unchanged inputs, with confirmed provenance.</summary>
    Fresh = 1,
    /// <summary>Exists, but cannot be trusted for this rebased SHA: it must be rebuilt.</summary>
    Stale = 2,
    /// <summary>Not in any registry yet: it must be built.</summary>
    Missing = 3,
    /// <summary>The merge request changes the image's inputs without bumping its tag.</summary>
    Unbumped = 4,
}

public static class FreshnessVerdictExtensions
{
    public static bool NeedsRebuild(this FreshnessVerdict verdict) =>
        verdict is FreshnessVerdict.Stale or FreshnessVerdict.Missing;
}
