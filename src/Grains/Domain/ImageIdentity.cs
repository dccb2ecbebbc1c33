namespace Orchestrator.Domain;

/// <summary>An image of the policy under one tag: what verdicts, builds, promotions and clean-ups are about.</summary>
[GenerateSerializer, Alias("ImageRef")]
public readonly record struct ImageRef([property: Id(0)] string Name, [property: Id(1)] string Tag)
{
    public override string ToString() => $"{Name}:{Tag}";
}

/// <summary>That image at one digest: what was tested, built or promoted, exactly.</summary>
[GenerateSerializer, Alias("PinnedImage")]
public readonly record struct PinnedImage([property: Id(0)] ImageRef Image, [property: Id(1)] string? Digest)
{
    public override string ToString() => $"{Image}@{Digest}";
}

/// <summary>Anything that names an image under a tag.</summary>
public interface INamedImage
{
    string Name { get; }
    string Tag { get; }
}

/// <summary>Anything that names an image under a tag at a digest.</summary>
public interface IPinnedImage : INamedImage
{
    string? Digest { get; }
}

public static class ImageIdentity
{
    public static ImageRef Ref(this INamedImage image) => new(image.Name, image.Tag);

    public static PinnedImage Pin(this IPinnedImage image) => new(image.Ref(), image.Digest);
}
