using System.Diagnostics;
using Orchestrator.Domain.Trailers;
using Xunit;

namespace Orchestrator.Tests.Trailers;

public sealed class CommitTrailersTests
{
    private static readonly Trailer PartOf = new("Part-of", "<https://gitlab.example/mesa/mesa/-/merge_requests/7>");
    private static readonly Trailer Reviewed = new("Reviewed-by", "Ada Lovelace <ada@example.com>");

    [Fact]
    public void Given_a_subject_and_a_body_When_trailers_are_added_Then_they_follow_a_blank_line_one_per_line() =>
        Assert.Equal("Fix the thing\n\nBecause.\n\nReviewed-by: Ada Lovelace <ada@example.com>\nPart-of: <https://gitlab.example/mesa/mesa/-/merge_requests/7>\n",
            CommitTrailers.Add("Fix the thing\n\nBecause.\n", [Reviewed, PartOf]));

    [Fact]
    public void Given_an_existing_trailer_block_When_trailers_are_added_Then_they_join_it_without_a_blank_line() =>
        Assert.Equal("Fix\n\nSigned-off-by: Bob <bob@example.com>\nReviewed-by: Ada Lovelace <ada@example.com>\n",
            CommitTrailers.Add("Fix\n\nSigned-off-by: Bob <bob@example.com>\n", [Reviewed]));

    [Fact]
    public void Given_the_same_trailer_already_there_in_another_case_When_added_again_Then_it_is_not_duplicated() =>
        Assert.Equal("Fix\n\nreviewed-by: Ada Lovelace <ada@example.com>\nPart-of: <https://gitlab.example/mesa/mesa/-/merge_requests/7>\n",
            CommitTrailers.Add("Fix\n\nreviewed-by: Ada Lovelace <ada@example.com>\n", [Reviewed, PartOf, Reviewed]));

    [Fact]
    public void Given_a_message_already_carrying_every_trailer_When_added_again_Then_the_message_is_unchanged()
    {
        var once = CommitTrailers.Add("Fix\n\nBody.\n", [Reviewed, PartOf]);

        Assert.Equal(once, CommitTrailers.Add(once, [Reviewed, PartOf]));
    }

    [Fact]
    public void Given_a_part_of_for_another_merge_request_When_ours_is_added_Then_both_are_kept()
    {
        var other = new Trailer("Part-of", "<https://gitlab.example/mesa/mesa/-/merge_requests/3>");

        Assert.Equal([other, PartOf], CommitTrailers.Read(CommitTrailers.Add("Fix\n\n" + other + "\n", [PartOf])));
    }

    [Fact]
    public void Given_a_trailer_lookalike_in_the_body_text_When_added_Then_a_new_block_is_started_after_it() =>
        Assert.Equal("Fix\n\nPart-of the work, and more prose here.\nSecond line of prose.\n\nReviewed-by: Ada Lovelace <ada@example.com>\n",
            CommitTrailers.Add("Fix\n\nPart-of the work, and more prose here.\nSecond line of prose.\n", [Reviewed]));

    [Fact]
    public void Given_a_one_line_message_that_looks_like_a_trailer_When_added_Then_the_subject_stays_a_subject() =>
        Assert.Equal("Fix: the thing\n\nReviewed-by: Ada Lovelace <ada@example.com>\n", CommitTrailers.Add("Fix: the thing", [Reviewed]));

    [Fact]
    public void Given_an_existing_url_trailer_When_trailers_are_added_Then_it_is_kept_byte_for_byte() =>
        Assert.StartsWith("Fix\n\nLink: https://example.com/a:b\n", CommitTrailers.Add("Fix\n\nLink: https://example.com/a:b\n\n\n", [Reviewed]));

    [Fact]
    public void Given_a_trailer_block_with_a_continuation_line_When_added_Then_the_continuation_keeps_it_a_block() =>
        Assert.Equal("Fix\n\nCloses: #1\n  and #2\nReviewed-by: Ada Lovelace <ada@example.com>\n",
            CommitTrailers.Add("Fix\n\nCloses: #1\n  and #2\n", [Reviewed]));

    [Fact]
    public void Given_windows_line_ends_and_trailing_blank_lines_When_added_Then_the_message_is_cleaned_like_git_commit() =>
        Assert.Equal("Fix\n\nBody\n\nReviewed-by: Ada Lovelace <ada@example.com>\n", CommitTrailers.Add("Fix\r\n\r\nBody\r\n\r\n\r\n", [Reviewed]));

    /// <summary>Cleaned-up messages (what git commit stores) covering each branch of git's trailer-block rule.</summary>
    public static TheoryData<string> CleanMessages() => new()
    {
        "Subject\n",
        "Subject\n\nBody text.\n",
        "Fix: thing\n",
        "Subject\n\nSigned-off-by: A <a@example.com>\n",
        "Subject\n\nBody line\nSigned-off-by: A <a@example.com>\n",
        "Subject\n\na\nb\nc\nSigned-off-by: A <a@example.com>\n",
        "Subject\n\na\nb\nc\nd\nSigned-off-by: A <a@example.com>\n",
        "Subject\n\n(cherry picked from commit 0123456789abcdef)\nnot a trailer\n",
        "Subject\n\nCloses: #1\n  continued\n",
        "Subject\n\nBody\n\nreviewed-by: Ada Lovelace <ada@example.com>\n",
        "Subject\n\nBody\n\nPart-of: <https://gitlab.example/mesa/mesa/-/merge_requests/7>\n",
        "Subject\n\nKey: value\nprose in the last paragraph\n",
        "Subject\nsecond title line\n\nAcked-by: B <b@example.com>\n",
        "",
    };

    [Theory]
    [MemberData(nameof(CleanMessages))]
    public async Task Given_a_cleaned_up_message_When_trailers_are_added_Then_the_result_is_what_git_interpret_trailers_writes(string message)
    {
        var git = await InterpretTrailers(message, Reviewed, PartOf);

        Assert.Equal(git, CommitTrailers.Add(message, [Reviewed, PartOf]));
    }

    private static async Task<string> InterpretTrailers(string message, params Trailer[] trailers)
    {
        var psi = new ProcessStartInfo("git") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        psi.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        foreach (var a in new[] { "-c", "trailer.ifexists=addIfDifferent", "interpret-trailers", "--no-divider" }) psi.ArgumentList.Add(a);
        foreach (var t in trailers)
        {
            psi.ArgumentList.Add("--trailer");
            psi.ArgumentList.Add(t.ToString());
        }
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(message);
        p.StandardInput.Close();
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        return output;
    }
}
