namespace Sandbox.Ci;

/// <summary>
/// GitLab Runner's own job-log lines, byte for byte: its <c>Println</c> wraps a line in <c>ESC[0K</c> … <c>ESC[0;m</c>,
/// and its build sections are raw <c>section_start:&lt;unix ts&gt;:&lt;name&gt;\r ESC[0K</c> markers followed by a
/// bold-cyan header (<c>section_end</c> likewise, with no newline of its own). A reader that trusts the runner
/// tells these apart from a script's output by position: a script only ever writes inside <c>step_script</c>.
/// </summary>
public static class RunnerLog
{
    public const string Clear = "\u001b[0K";
    public const string Reset = "\u001b[0;m";
    private const string BoldCyan = "\u001b[36;1m";
    private const string BoldGreen = "\u001b[32;1m";
    private const string BoldRed = "\u001b[31;1m";

    public static void Println(Job job, string text) => job.Write($"{Clear}{text}{Reset}\n");

    public static void SectionStart(Job job, string name, string header)
    {
        job.Write($"section_start:{Now()}:{name}\r{Clear}");
        // Runner traces show a single reset after the header: the line's own.
        Println(job, BoldCyan + header);
    }

    public static void SectionEnd(Job job, string name) => job.Write($"section_end:{Now()}:{name}\r{Clear}");

    /// <summary>The docker executor's pull manager: no line when the job named the image by its ID.</summary>
    public static void UsingImage(Job job, string imageName, PulledImage image)
    {
        if (imageName == image.Id) return;
        Println(job, $"Using docker image {image.Id} for {imageName} with digest {image.RepoDigest} ...");
    }

    public static void Succeeded(Job job) => job.Write($"{BoldGreen}Job succeeded{Reset}\n");

    public static void Failed(Job job, string reason) => job.Write($"{BoldRed}ERROR: Job failed: {reason}{Reset}\n");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}

/// <summary>An image as docker holds it after a pull: its ID (the config digest) and the repository digest it came by.</summary>
public sealed record PulledImage(string Id, string RepoDigest);
