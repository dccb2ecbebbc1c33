using Orchestrator.Domain.Trailers;
using Xunit;

namespace Orchestrator.Tests.Trailers;

public sealed class MergeRequestTrailersTests
{
    private const string Url = "https://gitlab.freedesktop.org/mesa/mesa/-/merge_requests/12345";
    private static readonly Approver Ada = new(7, "ada", "Ada Lovelace", "ada@example.com");
    private static readonly Approver Bob = new(9, "bob", "Bob Builder", null);

    [Fact]
    public void Given_every_kind_When_built_Then_marge_bot_formats_in_its_order() =>
        Assert.Equal(
            [
                "Reviewed-by: Ada Lovelace <ada@example.com>",
                "Reviewed-by: Bob Builder <9-bob@users.noreply.gitlab.freedesktop.org>",
                "Tested-by: Marge Bot <https://gitlab.freedesktop.org/mesa/mesa/-/merge_requests/12345>",
                "Part-of: <https://gitlab.freedesktop.org/mesa/mesa/-/merge_requests/12345>",
            ],
            MergeRequestTrailers.For(["part-of", "tested-by", "reviewed-by"], Url, [Ada, Bob], "Marge Bot").Select(t => t.ToString()));

    [Fact]
    public void Given_only_part_of_When_built_Then_approvers_and_the_bot_are_not_named() =>
        Assert.Equal(["Part-of: <" + Url + ">"], MergeRequestTrailers.For(["Part-of"], Url, [Ada], "Marge Bot").Select(t => t.ToString()));

    [Fact]
    public void Given_a_configured_fallback_When_an_approver_shows_no_email_Then_the_template_names_them() =>
        Assert.Equal("Bob Builder <bob@mesa.invalid>",
            MergeRequestTrailers.For(["reviewed-by"], Url, [Bob], "Marge Bot", "{username}@mesa.invalid").Single().Value);

    [Fact]
    public void Given_a_name_with_a_newline_and_brackets_When_built_Then_it_cannot_forge_another_trailer() =>
        Assert.Equal("Eve Signed-off-by: Linus x@y <eve@example.com>",
            MergeRequestTrailers.For(["reviewed-by"], Url, [new Approver(1, "eve", "Eve\nSigned-off-by: Linus <x@y>", "eve@example.com")], "Bot").Single().Value);

    [Fact]
    public void Given_an_unknown_kind_When_built_Then_it_is_refused() =>
        Assert.Throws<ArgumentException>(() => MergeRequestTrailers.For(["signed-off-by"], Url, [], "Bot"));
}
